package dev.seqembed.state;

import java.nio.ByteBuffer;

/**
 * A complete sequence waiting in the attention micro-batch (encoder mode): its id, all its tokens, the
 * timestamp of the record that completed it (output records keep it) and the model that embeds it
 * (SPEC §10.5).
 *
 * <p>Format 2: long timestamp, int id length, id UTF-8, int count, count ints, the model's SHA-256 as 32 raw
 * bytes. Format 1 (no model) is still read, with an unknown model.
 *
 * @param sequenceId the sequence
 * @param tokens every token of the sequence (after truncation)
 * @param timestampMs the completing input record's timestamp
 * @param modelSha256 hex SHA-256 of the model the sequence started on; null when unknown
 */
public record ReadySequence(String sequenceId, int[] tokens, long timestampMs, String modelSha256) {

    public static final StateSerde<ReadySequence> SERDE = new StateSerde<>(2, ReadySequence::write,
            ReadySequence::read).alsoReading(1, ReadySequence::readFormat1);

    private static ByteBuffer write(final ReadySequence r) {
        final byte[] id = r.sequenceId.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        final ByteBuffer buf = StateSerde.allocate(8 + 4 + id.length + 4 + 4 * r.tokens.length
                + StateSerde.SHA256_BYTES);
        buf.putLong(r.timestampMs).putInt(id.length).put(id);
        StateSerde.putInts(buf, r.tokens);
        StateSerde.putSha256(buf, r.modelSha256);
        return buf.flip();
    }

    private static ReadySequence read(final ByteBuffer buf) {
        final ReadySequence r = readFormat1(buf);
        return new ReadySequence(r.sequenceId, r.tokens, r.timestampMs, StateSerde.getSha256(buf));
    }

    private static ReadySequence readFormat1(final ByteBuffer buf) {
        final long ts = buf.getLong();
        final byte[] id = new byte[StateSerde.getCount(buf, 1)];
        buf.get(id);
        return new ReadySequence(new String(id, java.nio.charset.StandardCharsets.UTF_8), StateSerde.getInts(buf), ts,
                null);
    }
}
