package dev.seqembed.metrics;

import java.util.Arrays;

/**
 * The sequence-length buckets the processor's metrics ({@code length_bucket} label) and the demo's summary both
 * group by: up to 32, 64, 128, 256, 512 tokens, and longer.
 */
public final class LengthBuckets {

    private static final int[] UPPER = {32, 64, 128, 256, 512};

    private LengthBuckets() {
    }

    /** The buckets' inclusive upper bounds, ascending; longer sequences are in the overflow bucket. */
    public static int[] upperBounds() {
        return Arrays.copyOf(UPPER, UPPER.length);
    }

    /** The bucket {@code length} falls in: 0 for the first, {@code upperBounds().length} for the overflow one. */
    public static int indexOf(final int length) {
        for (int i = 0; i < UPPER.length; i++) {
            if (length <= UPPER[i]) {
                return i;
            }
        }
        return UPPER.length;
    }

    /** The upper bound of the bucket {@code length} falls in, or {@link Integer#MAX_VALUE} past the last. */
    public static int upperBoundOf(final int length) {
        final int i = indexOf(length);
        return i < UPPER.length ? UPPER[i] : Integer.MAX_VALUE;
    }

    /** A Prometheus-friendly label for a sequence length: "le32", "le64", …, "gt512". */
    public static String label(final int length) {
        final int i = indexOf(length);
        return i < UPPER.length ? "le" + UPPER[i] : "gt" + UPPER[UPPER.length - 1];
    }
}
