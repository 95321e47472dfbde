package dev.seqembed.testing;

/**
 * How far a float32 embedding is from an expected one, relative to the expected vector's L2 norm: the measure
 * behind SPEC's "to 1e-5 relative". Element-wise relative errors would judge components near zero against
 * themselves, where float32 rounding of a 6-layer network is far above 1e-5 of their size.
 */
public final class VectorDistance {
    private VectorDistance() {
    }

    /** ||a - e||_2 / ||e||_2. */
    public static double relativeL2(final float[] actual, final double[] expected) {
        check(actual, expected);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            final double d = actual[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
        }
        return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
    }

    /** max_i |a_i - e_i| / ||e||_2: no single component may be off by more than this share of the vector. */
    public static double relativeMaxAbs(final float[] actual, final double[] expected) {
        check(actual, expected);
        double max = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            if (!Float.isFinite(actual[i])) {
                return Double.POSITIVE_INFINITY;
            }
            max = Math.max(max, Math.abs(actual[i] - expected[i]));
            norm += expected[i] * expected[i];
        }
        return max / Math.max(Math.sqrt(norm), 1e-30);
    }

    private static void check(final float[] actual, final double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("length " + actual.length + ", expected " + expected.length);
        }
    }
}
