package dev.seqembed.state;

import java.nio.ByteBuffer;

/**
 * A complete sequence waiting in the attention micro-batch (encoder mode): its id, all its tokens and the
 * timestamp of the record that completed it (output records keep it).
 *
 * @param sequenceId the sequence
 * @param tokens every token of the sequence (after truncation)
 * @param timestampMs the completing input record's timestamp
 */
public record ReadySequence(String sequenceId, int[] tokens, long timestampMs) {

    public static final StateSerde<ReadySequence> SERDE = new StateSerde<>(1, ReadySequence::write,
            ReadySequence::read);

    private static ByteBuffer write(final ReadySequence r) {
        final byte[] id = r.sequenceId.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        final ByteBuffer buf = StateSerde.allocate(8 + 4 + id.length + 4 + 4 * r.tokens.length);
        buf.putLong(r.timestampMs).putInt(id.length).put(id);
        StateSerde.putInts(buf, r.tokens);
        return buf.flip();
    }

    private static ReadySequence read(final ByteBuffer buf) {
        final long ts = buf.getLong();
        final byte[] id = new byte[buf.getInt()];
        buf.get(id);
        return new ReadySequence(new String(id, java.nio.charset.StandardCharsets.UTF_8), StateSerde.getInts(buf), ts);
    }
}
