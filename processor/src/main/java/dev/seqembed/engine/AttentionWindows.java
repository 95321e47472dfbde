package dev.seqembed.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Where the windows of {@code attention.overflow=window} lie in a sequence (SPEC §10.3). A sequence of n &gt; P
 * tokens gets K = 1 + ceil((n − P) / stride) windows of exactly P tokens: window k &lt; K−1 starts at k·stride,
 * the last at n − P so that it ends on the last token (no window is padded). n ≤ P is one window, the whole
 * sequence.
 */
public final class AttentionWindows {

    /**
     * One window.
     *
     * @param index  the window number, from 0
     * @param start  offset of its first token in the sequence
     * @param length tokens in it (P, or n when n ≤ P)
     */
    public record Span(int index, int start, int length) {

        /** Offset one past its last token. */
        public int end() {
            return start + length;
        }
    }

    private AttentionWindows() {
    }

    /** The number of windows K of a sequence of {@code n} tokens. */
    public static int count(final int n, final int positions, final int stride) {
        check(n, positions, stride);
        if (n <= positions) {
            return 1;
        }
        final long over = (long) n - positions;
        return Math.toIntExact(1 + (over + stride - 1) / stride);
    }

    /** The windows of a sequence of {@code n} tokens, in order; the last ends at n. */
    public static List<Span> spans(final int n, final int positions, final int stride) {
        final int k = count(n, positions, stride);
        if (k == 1) {
            return List.of(new Span(0, 0, n));
        }
        final List<Span> out = new ArrayList<>(k);
        for (int i = 0; i < k - 1; i++) {
            out.add(new Span(i, i * stride, positions));
        }
        out.add(new Span(k - 1, n - positions, positions));
        return out;
    }

    private static void check(final int n, final int positions, final int stride) {
        if (n < 0 || positions < 1 || stride < 1 || stride > positions) {
            throw new IllegalArgumentException("need n >= 0 and 1 <= stride <= positions, got n=" + n
                    + ", positions=" + positions + ", stride=" + stride);
        }
    }
}
