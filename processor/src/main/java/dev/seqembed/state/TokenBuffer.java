package dev.seqembed.state;

import java.nio.ByteBuffer;

/**
 * The encoder-mode attention state of one sequence: its tokens so far, until the {@code last} chunk arrives,
 * and the model that was current when its first chunk arrived, which embeds it (SPEC §10.5).
 *
 * <p>Format 2: int count, count ints, then the model's SHA-256 as 32 raw bytes. Format 1 (no model) is still
 * read, with an unknown model: a buffer from an earlier release is embedded with the current model.
 *
 * @param tokens tokens received so far
 * @param modelSha256 hex SHA-256 of the model that embeds the sequence; null when unknown
 */
public record TokenBuffer(int[] tokens, String modelSha256) {

    /**
     * The largest buffer stored: a buffer is one changelog record, and Kafka's default record limits
     * (producer {@code max.request.size}, broker {@code message.max.bytes}) are 1 MiB; this leaves room for the
     * key and the batch overhead. About 250,000 tokens.
     */
    public static final long MAX_BYTES = 1_000_000;

    public static final StateSerde<TokenBuffer> SERDE = new StateSerde<>(2, TokenBuffer::write, TokenBuffer::read)
            .alsoReading(1, TokenBuffer::readFormat1);

    /** A buffer whose model is unknown. */
    public TokenBuffer(final int[] tokens) {
        this(tokens, null);
    }

    /** Bytes this state occupies in its store for a sequence of {@code tokens} tokens. */
    public static long sizeBytes(final long tokens) {
        return 1 + 4 + 4 * tokens + StateSerde.SHA256_BYTES;
    }

    private static ByteBuffer write(final TokenBuffer b) {
        final ByteBuffer buf = StateSerde.allocate(4 + 4 * b.tokens.length + StateSerde.SHA256_BYTES);
        StateSerde.putInts(buf, b.tokens);
        StateSerde.putSha256(buf, b.modelSha256);
        return buf.flip();
    }

    private static TokenBuffer read(final ByteBuffer buf) {
        final int[] tokens = StateSerde.getInts(buf);
        return new TokenBuffer(tokens, StateSerde.getSha256(buf));
    }

    private static TokenBuffer readFormat1(final ByteBuffer buf) {
        return new TokenBuffer(StateSerde.getInts(buf), null);
    }
}
