package dev.seqembed.state;

import java.nio.ByteBuffer;

/**
 * The windower's state for one sequence: tokens from the next window's start onwards.
 *
 * @param nextWindowIndex index of the next window to emit
 * @param bufferStart token offset of {@code tokens[0]} in the sequence
 * @param tokens tokens not yet fully consumed by emitted windows
 */
public record WindowBuffer(int nextWindowIndex, int bufferStart, int[] tokens) {

    public static final StateSerde<WindowBuffer> SERDE = new StateSerde<>(1, WindowBuffer::write, WindowBuffer::read);

    public static final WindowBuffer EMPTY = new WindowBuffer(0, 0, new int[0]);

    /** Bytes this state occupies in its store. */
    public long sizeBytes() {
        return 1 + 12L + 4L * tokens.length;
    }

    private static ByteBuffer write(final WindowBuffer w) {
        final ByteBuffer buf = StateSerde.allocate(12 + 4 * w.tokens.length);
        buf.putInt(w.nextWindowIndex).putInt(w.bufferStart);
        StateSerde.putInts(buf, w.tokens);
        return buf.flip();
    }

    private static WindowBuffer read(final ByteBuffer buf) {
        return new WindowBuffer(buf.getInt(), buf.getInt(), StateSerde.getInts(buf));
    }
}
