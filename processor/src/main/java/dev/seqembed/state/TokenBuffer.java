package dev.seqembed.state;

import java.nio.ByteBuffer;

/**
 * The encoder-mode attention state of one sequence: its tokens so far, until the {@code last} chunk arrives.
 *
 * @param tokens tokens received so far
 */
public record TokenBuffer(int[] tokens) {

    public static final StateSerde<TokenBuffer> SERDE = new StateSerde<>(1, TokenBuffer::write, TokenBuffer::read);

    /** Bytes this state occupies in its store for a sequence of {@code tokens} tokens. */
    public static long sizeBytes(final long tokens) {
        return 1 + 4 + 4 * tokens;
    }

    private static ByteBuffer write(final TokenBuffer b) {
        final ByteBuffer buf = StateSerde.allocate(4 + 4 * b.tokens.length);
        StateSerde.putInts(buf, b.tokens);
        return buf.flip();
    }

    private static TokenBuffer read(final ByteBuffer buf) {
        return new TokenBuffer(StateSerde.getInts(buf));
    }
}
