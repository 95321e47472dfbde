package dev.seqembed.state;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A causal chunk waiting in the attention micro-batch: the record as it came from the chunks topic (its value
 * bytes, the TokenChunk in single-object encoding, and its timestamp) and where it came from, so that a chunk
 * that fails in a later flush is dead-lettered exactly as if it had failed on arrival.
 *
 * <p>Format 1: int tokens, long timestamp, int partition, long offset, int topic length, topic UTF-8 (empty:
 * unknown), int value length, value bytes.
 *
 * @param value       the TokenChunk record's value bytes
 * @param tokens      tokens in the chunk (what the micro-batch counts)
 * @param timestampMs the input record's timestamp (its Embedding keeps it)
 * @param topic       source topic, or null when unknown
 * @param partition   source partition (-1 when unknown)
 * @param offset      source offset (-1 when unknown)
 */
public record PendingChunk(byte[] value, int tokens, long timestampMs, String topic, int partition, long offset) {

    public static final StateSerde<PendingChunk> SERDE = new StateSerde<>(1, PendingChunk::write, PendingChunk::read);

    private static ByteBuffer write(final PendingChunk p) {
        final byte[] topic = p.topic == null ? new byte[0] : p.topic.getBytes(StandardCharsets.UTF_8);
        final ByteBuffer buf = StateSerde.allocate(4 + 8 + 4 + 8 + 4 + topic.length + 4 + p.value.length);
        buf.putInt(p.tokens).putLong(p.timestampMs).putInt(p.partition).putLong(p.offset);
        buf.putInt(topic.length).put(topic);
        buf.putInt(p.value.length).put(p.value);
        return buf.flip();
    }

    private static PendingChunk read(final ByteBuffer buf) {
        final int tokens = buf.getInt();
        final long ts = buf.getLong();
        final int partition = buf.getInt();
        final long offset = buf.getLong();
        final byte[] topic = new byte[StateSerde.getCount(buf, 1)];
        buf.get(topic);
        final byte[] value = new byte[StateSerde.getCount(buf, 1)];
        buf.get(value);
        return new PendingChunk(value, tokens, ts, topic.length == 0 ? null : new String(topic, StandardCharsets.UTF_8),
                partition, offset);
    }
}
