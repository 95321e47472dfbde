package dev.seqembed.state;

import java.nio.ByteBuffer;

/**
 * What the validator remembers of a sequence: enough to check order, duplicates, length and lifetime.
 *
 * @param nextChunkIndex the chunk index expected next
 * @param tokensSeen tokens accepted so far
 * @param closed a {@code last} chunk was accepted, or the sequence was rejected
 * @param rejectedReason the error code name that closed the sequence, or empty when it ended normally / is open
 * @param lastSeenMs wall-clock time of the last chunk, for idle eviction
 */
public record SequenceProgress(int nextChunkIndex, int tokensSeen, boolean closed, String rejectedReason,
                               long lastSeenMs) {

    public static final StateSerde<SequenceProgress> SERDE = new StateSerde<>(1, SequenceProgress::write,
            SequenceProgress::read);

    public boolean rejected() {
        return !rejectedReason.isEmpty();
    }

    private static ByteBuffer write(final SequenceProgress p) {
        final byte[] reason = p.rejectedReason.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        final ByteBuffer buf = StateSerde.allocate(4 + 4 + 1 + 8 + 1 + reason.length);
        buf.putInt(p.nextChunkIndex).putInt(p.tokensSeen).put((byte) (p.closed ? 1 : 0)).putLong(p.lastSeenMs)
                .put((byte) reason.length).put(reason);
        return buf.flip();
    }

    private static SequenceProgress read(final ByteBuffer buf) {
        final int next = buf.getInt();
        final int tokens = buf.getInt();
        final boolean closed = buf.get() == 1;
        final long lastSeen = buf.getLong();
        final byte[] reason = new byte[buf.get()];
        buf.get(reason);
        return new SequenceProgress(next, tokens, closed, new String(reason, java.nio.charset.StandardCharsets.US_ASCII),
                lastSeen);
    }
}
