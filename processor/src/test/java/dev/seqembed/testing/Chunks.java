package dev.seqembed.testing;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.avro.TokenChunk;

/** Builds TokenChunks for tests. */
public final class Chunks {

    private Chunks() {
    }

    public static TokenChunk chunk(final String id, final int index, final int[] tokens, final boolean last) {
        return SequenceInput.chunk(id, index, tokens, last);
    }

    /** Tokens 1..n shifted by {@code offset} (all inside the test vocabulary). */
    public static int[] tokens(final int n, final int offset) {
        final int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 1 + (offset + i * 7) % 190;
        }
        return t;
    }
}
