package dev.seqembed.model;

import dev.seqembed.platform.VectorSupport;

/**
 * The element-wise parts of the models as plain Java loops over float[] (bias adds, LayerNorm, exact GELU,
 * stable softmax, activations). Each costs a few ns per element or less: the heavy loops are written so
 * that C2 vectorises them (only float arithmetic, no calls, no branches), and the few operations it does
 * not vectorise (float/int bit moves, selects) sit in a second short loop.
 *
 * <p>Stateless; the callers pass their own scratch arrays, so it is thread-safe.
 */
final class Kernels {
    /** Elements processed per block by the split loops (the temporaries stay in L1). */
    static final int BLOCK = 256;

    /** Partial sums of a softmax row: element i goes to sum i mod LANES (the vector kernels' lane order). */
    static final int LANES = 8;

    /** Whether {@link VectorKernels} run (the JVM has the SIMD module): same results, about 3x faster. */
    private static final boolean VECTOR = VectorSupport.enabled();

    static final float LOG2E = 1.44269504088896341f;
    /** Cephes expf: ln 2 split in a short high part (exact products with small n) and a correction. */
    static final float LN2_HI = 0.693359375f;
    static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer held in the low mantissa bits. */
    static final float ROUND_MAGIC = 12582912f;
    /** Below this, exp underflows float (exp(-87.3) ~ 1.2e-38, still normal). */
    static final float EXP_MIN = -87.3f;
    /** Cephes expf polynomial, highest degree first. */
    static final float EXP_P0 = 1.9875691500E-4f;
    static final float EXP_P1 = 1.3981999507E-3f;
    static final float EXP_P2 = 8.3334519073E-3f;
    static final float EXP_P3 = 4.1665795894E-2f;
    static final float EXP_P4 = 1.6666665459E-1f;
    static final float EXP_P5 = 5.0000001201E-1f;
    static final float INV_SQRT2 = 0.70710678118654752440f;

    private Kernels() {
    }

    /**
     * Starts, once per JVM, a background thread that runs the SIMD kernels on small rows until the JIT has
     * compiled them (a model load calls it; later calls do nothing). Until C2 compiles them, Vector API code runs
     * as plain Java allocating an object per operation, 100-300x slower than compiled: without this a stream
     * spent its first seconds there (JFR under {@code bench --e2e}: most of the ingest thread's samples in its
     * first 5 s), and a MiniLM GELU took 0.1 s instead of 0.3 ms. In the background, so start-up is not delayed.
     */
    static void warmUp() {
        if (VECTOR) {
            WarmUp.started();
        }
    }

    /** Holder: its class initialisation starts the warm-up thread, exactly once. */
    private static final class WarmUp {
        /** A round (896 elements) at compiled speed takes ~2 us; run as plain Java, over 100 us. */
        private static final long COMPILED_ROUND_NANOS = 20_000;
        /**
         * Fast rounds, counted in all (a preempted round on a busy machine is slow too), after which the kernels
         * are taken as compiled: ~2 ms of work once they are.
         */
        private static final int COMPILED_ROUNDS_TO_STOP = 1_000;
        /** At most this long in any case, so a machine too busy to show fast rounds is not loaded further. */
        private static final long MAX_NANOS = 5_000_000_000L;

        static {
            final Thread t = new Thread(WarmUp::run, "seqembed-kernel-warm-up");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            t.start();
        }

        private WarmUp() {
        }

        static void started() {
            // the static initialiser above has run by the time this executes
        }

        private static void run() {
            final int h = 384;
            final Scratch tmp = new Scratch();
            final float[] row = new float[BLOCK];
            final float[] bias = new float[BLOCK];
            final float[] y = new float[h];
            final float[] out = new float[h];
            final float[] gamma = new float[h];
            java.util.Arrays.fill(gamma, 1f);
            for (int j = 0; j < h; j++) {
                y[j] = j * 0.01f; // LayerNorm writes to out: y stays
            }
            final long start = System.nanoTime();
            int compiledRounds = 0;
            while (compiledRounds < COMPILED_ROUNDS_TO_STOP && System.nanoTime() - start < MAX_NANOS) {
                final long t0 = System.nanoTime();
                for (int j = 0; j < BLOCK; j++) { // GELU and softmax work in place
                    row[j] = (j - BLOCK / 2) * 0.05f;
                }
                VectorKernels.biasGelu(row, 0, 1, BLOCK, bias, tmp);
                VectorKernels.softmax(row, 0, BLOCK, BLOCK, tmp);
                VectorKernels.addLayerNorm(y, gamma, y, out, 0, 1, h, gamma, gamma, 1e-12);
                if (System.nanoTime() - t0 < COMPILED_ROUND_NANOS) {
                    compiledRounds++;
                }
            }
        }
    }

    /** 2^n for the magic-rounded exponent float t = x log2(e) + ROUND_MAGIC (n in [-126, 127]). */
    private static float scale2n(final float t) {
        // bits(t) = 0x4B400000 + n; the constant's bits shift out of the int, leaving (n + 127) << 23.
        return Float.intBitsToFloat((Float.floatToRawIntBits(t) + 127) << 23);
    }

    /** Per-thread temporaries of the kernels: separate arrays, so every loop indexes them alike. */
    static final class Scratch {
        final float[] x = new float[BLOCK];
        final float[] e = new float[BLOCK];
        final float[] n = new float[BLOCK];
        final float[] t = new float[BLOCK];
        final float[] partial = new float[LANES];
    }

    /**
     * In-place softmax over {@code a[off, off+n)} followed by zeros up to {@code off+len} (the keys a causal
     * query may not see): the max is subtracted first, so huge logits do not overflow.
     */
    static void softmax(final float[] a, final int off, final int n, final int len, final Scratch tmp) {
        if (VECTOR) {
            VectorKernels.softmax(a, off, n, len, tmp);
        } else {
            softmaxScalar(a, off, n, len, tmp);
        }
    }

    /** {@link #softmax} in plain loops (C2's auto-vectorisation). */
    static void softmaxScalar(final float[] a, final int off, final int n, final int len, final Scratch tmp) {
        final float max = max(a, off, n);
        final float[] partial = tmp.partial;
        java.util.Arrays.fill(partial, 0f);
        final int whole = n - n % LANES;
        for (int b = 0; b < n; b += BLOCK) {
            final int k = Math.min(n, b + BLOCK) - b;
            // Work on a copy: loops whose arrays all share one index vectorise (C2 has no alias checks).
            for (int i = 0; i < k; i++) {
                tmp.x[i] = a[off + b + i] - max;
            }
            exp(tmp.x, tmp.n, k);
            final int lanewise = Math.min(k, whole - b); // BLOCK is a multiple of LANES
            for (int i = 0; i + LANES <= lanewise; i += LANES) {
                for (int j = 0; j < LANES; j++) {
                    partial[j] += tmp.x[i + j];
                }
            }
            System.arraycopy(tmp.x, 0, a, off + b, k);
        }
        normalize(a, off, n, whole, len, partial);
    }

    /**
     * The end of a softmax row whose exponentials are in a[off, off+n): the sum is the LANES partial sums of
     * [0, whole) in lane order, then the elements [whole, n) one by one (in double); scales by its inverse and
     * zeroes the keys after n up to len.
     */
    static void normalize(final float[] a, final int off, final int n, final int whole, final int len,
                          final float[] partial) {
        double sum = 0;
        for (int j = 0; j < LANES; j++) {
            sum += partial[j];
        }
        for (int i = whole; i < n; i++) {
            sum += a[off + i];
        }
        final float inv = (float) (1.0 / sum);
        for (int i = off; i < off + n; i++) {
            a[i] *= inv;
        }
        java.util.Arrays.fill(a, off + n, off + len, 0f);
    }

    /** exp of one value, exactly as the array form below computes it. */
    static float exp(final float x) {
        final float xc = Math.max(x, EXP_MIN);
        final float t = xc * LOG2E + ROUND_MAGIC;
        return expReduced(xc, t) * scale2n(t);
    }

    /**
     * exp(xc) / 2^n for the magic-rounded t = xc log2(e) + ROUND_MAGIC (n = t - ROUND_MAGIC): the polynomial on
     * the reduced argument. Float arithmetic only, so C2 still vectorises the loops it is inlined into.
     */
    private static float expReduced(final float xc, final float t) {
        final float n = t - ROUND_MAGIC;
        final float r = xc - n * LN2_HI - n * LN2_LO;
        float p = Math.fma(EXP_P0, r, EXP_P1);
        p = Math.fma(p, r, EXP_P2);
        p = Math.fma(p, r, EXP_P3);
        p = Math.fma(p, r, EXP_P4);
        p = Math.fma(p, r, EXP_P5);
        return Math.fma(p * r, r, r) + 1f;
    }

    /**
     * v[i] = exp(v[i]) for i < k (max relative error ~1e-7; below EXP_MIN it gives ~1e-38 rather than 0);
     * {@code expo} is scratch. Two loops: float arithmetic only (vectorised), then the scaling by 2^n.
     */
    private static void exp(final float[] v, final float[] expo, final int k) {
        for (int i = 0; i < k; i++) {
            final float xc = Math.max(v[i], EXP_MIN);
            final float t = xc * LOG2E + ROUND_MAGIC;
            expo[i] = t;
            v[i] = expReduced(xc, t);
        }
        for (int i = 0; i < k; i++) {
            v[i] *= scale2n(expo[i]);
        }
    }

    /**
     * In-place exact GELU with bias over rows [fromRow, toRow) of a matrix with {@code cols} columns: x = a + bias[col], then
     * 0.5 x erfc(-x / sqrt 2). erfc by the Chebyshev fit of Numerical Recipes (erfcc, fractional error
     * below 1.2e-7 everywhere): erfc(z) = t exp(-z^2 - 1.26551223 + t P(t)), t = 1 / (1 + z/2), z >= 0,
     * and 2 - erfc(|z|) for z < 0, so there is no cancellation for x << 0. Split in short loops: C2
     * vectorises each, but not one long body.
     */
    static void biasGelu(final float[] a, final int fromRow, final int toRow, final int cols, final float[] bias,
                         final Scratch tmp) {
        if (VECTOR) {
            VectorKernels.biasGelu(a, fromRow, toRow, cols, bias, tmp);
        } else {
            biasGeluScalar(a, fromRow, toRow, cols, bias, tmp);
        }
    }

    /** {@link #biasGelu} in plain loops (C2's auto-vectorisation). */
    static void biasGeluScalar(final float[] a, final int fromRow, final int toRow, final int cols,
                               final float[] bias, final Scratch tmp) {
        final float[] xs = tmp.x;
        final float[] es = tmp.e;
        final float[] ts = tmp.t;
        for (int r = fromRow; r < toRow; r++) {
            final int base = r * cols;
            for (int b = 0; b < cols; b += BLOCK) {
                final int k = Math.min(cols, b + BLOCK) - b;
                for (int j = 0; j < k; j++) {
                    xs[j] = a[base + b + j] + bias[b + j];
                }
                for (int j = 0; j < k; j++) {
                    final float z = Math.abs(xs[j]) * INV_SQRT2;
                    final float t = 1f / (1f + 0.5f * z);
                    final float z2 = z * z;
                    final float z2lo = Math.fma(z, z, -z2); // z^2 = z2 + z2lo exactly
                    final float poly = erfcPolynomial(t);
                    ts[j] = t;
                    es[j] = poly - z2 - z2lo;
                }
                exp(es, tmp.n, k);
                for (int j = 0; j < k; j++) {
                    // erfc(-x / sqrt 2) = erfc(|z|) for x < 0 and 2 - erfc(|z|) for x >= 0, so GELU(x) =
                    // 0.5 (x + |x|) - 0.5 |x| erfc(|z|): x + |x| is exactly 0 or 2x, so no cancellation for
                    // x << 0, and no sign select (which would keep C2 from vectorising the loop).
                    final float x = xs[j];
                    final float ax = Math.abs(x);
                    a[base + b + j] = 0.5f * (x + ax) - 0.5f * ax * (ts[j] * es[j]);
                }
            }
        }
    }

    /**
     * The polynomial of Numerical Recipes' erfcc in t (its Chebyshev coefficients) by Horner's rule in fused
     * multiply-adds (the vector kernel's too; C2 vectorises Math.fma). Written with the literals: array loads here
     * kept C2 from vectorising the GELU loop (4.3 -> 10-13 ns/element).
     */
    private static float erfcPolynomial(final float t) {
        float p = Math.fma(0.17087277f, t, -0.82215223f);
        p = Math.fma(p, t, 1.48851587f);
        p = Math.fma(p, t, -1.13520398f);
        p = Math.fma(p, t, 0.27886807f);
        p = Math.fma(p, t, -0.18628806f);
        p = Math.fma(p, t, 0.09678418f);
        p = Math.fma(p, t, 0.37409196f);
        p = Math.fma(p, t, 1.00002368f);
        return Math.fma(p, t, -1.26551223f);
    }

    /** GELU of one value, exactly as {@link #biasGelu} computes it. */
    static float gelu(final float x) {
        final float ax = Math.abs(x);
        final float z = ax * INV_SQRT2;
        final float t = 1f / (1f + 0.5f * z);
        final float z2 = z * z;
        final float z2lo = Math.fma(z, z, -z2);
        final float poly = erfcPolynomial(t);
        return 0.5f * (x + ax) - 0.5f * ax * (t * exp(poly - z2 - z2lo));
    }

    /** In-place bias then activation over rows [fromRow, toRow) of a matrix with {@code cols} columns. */
    static void biasActivate(final float[] a, final int fromRow, final int toRow, final int cols, final float[] bias,
                             final Activation act, final Scratch tmp) {
        switch (act) {
            case GELU -> biasGelu(a, fromRow, toRow, cols, bias, tmp);
            case RELU -> {
                for (int r = fromRow; r < toRow; r++) {
                    final int base = r * cols;
                    for (int j = 0; j < cols; j++) {
                        a[base + j] = Math.max(a[base + j] + bias[j], 0f);
                    }
                }
            }
            case TANH -> {
                for (int r = fromRow; r < toRow; r++) {
                    final int base = r * cols;
                    for (int j = 0; j < cols; j++) {
                        a[base + j] = (float) Math.tanh(a[base + j] + bias[j]);
                    }
                }
            }
        }
    }

    /** a[r, :] += bias for each of the rows of a [rows, cols] block. */
    static void addBias(final float[] a, final int rows, final int cols, final float[] bias) {
        for (int r = 0; r < rows; r++) {
            final int base = r * cols;
            for (int j = 0; j < cols; j++) {
                a[base + j] += bias[j];
            }
        }
    }

    /**
     * out[r, :] = LayerNorm(y[r, :] + bias + residual[r, :]) for rows [fromRow, toRow) of [*, h] matrices:
     * two-pass mean and biased variance, (x - mean) / sqrt(var + eps) * gamma + beta. {@code out} may be
     * {@code residual} or {@code y}; {@code bias} and {@code residual} may be null.
     */
    static void addLayerNorm(final float[] y, final float[] bias, final float[] residual, final float[] out,
                             final int fromRow, final int toRow, final int h, final float[] gamma,
                             final float[] beta, final double eps) {
        if (VECTOR) {
            VectorKernels.addLayerNorm(y, bias, residual, out, fromRow, toRow, h, gamma, beta, eps);
        } else {
            addLayerNormScalar(y, bias, residual, out, fromRow, toRow, h, gamma, beta, eps);
        }
    }

    /** {@link #addLayerNorm} in plain loops (C2's auto-vectorisation). */
    static void addLayerNormScalar(final float[] y, final float[] bias, final float[] residual, final float[] out,
                                   final int fromRow, final int toRow, final int h, final float[] gamma,
                                   final float[] beta, final double eps) {
        for (int r = fromRow; r < toRow; r++) {
            final int base = r * h;
            if (bias != null) {
                if (residual != null) {
                    for (int j = 0; j < h; j++) {
                        out[base + j] = y[base + j] + bias[j] + residual[base + j];
                    }
                } else {
                    for (int j = 0; j < h; j++) {
                        out[base + j] = y[base + j] + bias[j];
                    }
                }
            } else if (residual != null) {
                for (int j = 0; j < h; j++) {
                    out[base + j] = y[base + j] + residual[base + j];
                }
            } else if (out != y) {
                System.arraycopy(y, base, out, base, h);
            }
            layerNormRow(out, base, h, gamma, beta, eps);
        }
    }

    /** In-place LayerNorm of a[off, off+h). */
    static void layerNormRow(final float[] a, final int off, final int h, final float[] gamma, final float[] beta,
                             final double eps) {
        final float mean = (float) (sum(a, off, h) / h);
        for (int j = 0; j < h; j++) {
            a[off + j] -= mean;
        }
        final double var = sumSquares(a, off, h) / h;
        final float inv = (float) (1.0 / Math.sqrt(var + eps));
        for (int j = 0; j < h; j++) {
            a[off + j] = a[off + j] * inv * gamma[j] + beta[j];
        }
    }

    /** Sum of a[off, off+n) with eight float accumulators (C2 does not vectorise a single-chain reduction). */
    static double sum(final float[] a, final int off, final int n) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        float s4 = 0;
        float s5 = 0;
        float s6 = 0;
        float s7 = 0;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            final int k = off + i;
            s0 += a[k];
            s1 += a[k + 1];
            s2 += a[k + 2];
            s3 += a[k + 3];
            s4 += a[k + 4];
            s5 += a[k + 5];
            s6 += a[k + 6];
            s7 += a[k + 7];
        }
        double s = (double) s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
        for (; i < n; i++) {
            s += a[off + i];
        }
        return s;
    }

    private static double sumSquares(final float[] a, final int off, final int n) {
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        float s4 = 0;
        float s5 = 0;
        float s6 = 0;
        float s7 = 0;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            final int k = off + i;
            s0 += a[k] * a[k];
            s1 += a[k + 1] * a[k + 1];
            s2 += a[k + 2] * a[k + 2];
            s3 += a[k + 3] * a[k + 3];
            s4 += a[k + 4] * a[k + 4];
            s5 += a[k + 5] * a[k + 5];
            s6 += a[k + 6] * a[k + 6];
            s7 += a[k + 7] * a[k + 7];
        }
        double s = (double) s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
        for (; i < n; i++) {
            s += (double) a[off + i] * a[off + i];
        }
        return s;
    }

    private static float max(final float[] a, final int off, final int n) {
        float m0 = Float.NEGATIVE_INFINITY;
        float m1 = Float.NEGATIVE_INFINITY;
        float m2 = Float.NEGATIVE_INFINITY;
        float m3 = Float.NEGATIVE_INFINITY;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            final int k = off + i;
            m0 = Math.max(m0, a[k]);
            m1 = Math.max(m1, a[k + 1]);
            m2 = Math.max(m2, a[k + 2]);
            m3 = Math.max(m3, a[k + 3]);
        }
        float m = Math.max(Math.max(m0, m1), Math.max(m2, m3));
        for (; i < n; i++) {
            m = Math.max(m, a[off + i]);
        }
        return m;
    }

    /** Mean of rows [from, from + rows) of a row-major matrix with {@code cols} columns (double accumulation). */
    static float[] meanRows(final float[] a, final int from, final int rows, final int cols) {
        final double[] s = new double[cols];
        for (int r = from; r < from + rows; r++) {
            for (int j = 0; j < cols; j++) {
                s[j] += a[r * cols + j];
            }
        }
        final float[] out = new float[cols];
        for (int j = 0; j < cols; j++) {
            out[j] = (float) (s[j] / rows);
        }
        return out;
    }
}
