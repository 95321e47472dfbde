package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class ParallelGemmTest {

    private final ParallelGemm one = new ParallelGemm(new RowParallel(1));
    private final ParallelGemm three = new ParallelGemm(new RowParallel(3));

    private static float[] random(final int n, final long seed) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final float[] a = new float[n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextDouble(-1, 1);
        }
        return a;
    }

    /** C = A op(B) (+ beta C) in plain Java doubles, row-major. */
    private static float[] reference(final int m, final int n, final int k, final float[] a, final float[] b,
                                     final boolean transB, final float beta, final float[] c0) {
        final float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = beta * c0[i * n + j];
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
                }
                c[i * n + j] = (float) s;
            }
        }
        return c;
    }

    private static float[] run(final ParallelGemm gemm, final int m, final int n, final int k, final float[] a,
                               final float[] b, final boolean transB, final float beta, final float[] c0) {
        try (FloatPointer an = NativeGemm.copyOf(a); FloatPointer bn = NativeGemm.copyOf(b);
             FloatPointer cn = NativeGemm.copyOf(c0)) {
            gemm.gemm(m, n, k, an, k, transB, bn, transB ? k : n, beta, cn, n);
            final float[] c = new float[m * n];
            cn.get(c);
            return c;
        }
    }

    @Test
    void rowAndColumnSplitsGiveTheSameBitsAsOneThreadAndMatchTheReference() {
        // tall (split by rows), wide (split by columns, a width that is no multiple of 16), B transposed, beta 1
        final int[][] shapes = {{384, 200, 96}, {16, 1153, 384}, {64, 64, 512}, {1, 3, 5}};
        for (final int[] s : shapes) {
            final int m = s[0];
            final int n = s[1];
            final int k = s[2];
            for (final boolean transB : new boolean[] {false, true}) {
                final float[] a = random(m * k, m);
                final float[] b = random(k * n, n);
                final float[] c0 = random(m * n, k);
                for (final float beta : new float[] {0f, 1f}) {
                    final float[] expected = reference(m, n, k, a, b, transB, beta, c0);
                    final float[] single = run(one, m, n, k, a, b, transB, beta, c0);
                    final float[] split = run(three, m, n, k, a, b, transB, beta, c0);
                    // Streamed and offline vectors are compared bit for bit, and run and embed may use different
                    // thread counts: a split must not change a single bit.
                    assertThat(split).as("%dx%dx%d transB=%s beta=%s", m, n, k, transB, beta).isEqualTo(single);
                    for (int i = 0; i < expected.length; i++) {
                        assertThat(split[i]).as("element %d of %dx%dx%d", i, m, n, k)
                                .isCloseTo(expected[i], org.assertj.core.api.Assertions.within(1e-4f));
                    }
                }
            }
        }
    }

    @Test
    void linearAddsTheBiasWithTheSameBitsAsOneThread() {
        // rows >= out (row tiles), rows < out (column tiles, a width that is no multiple of 16), one small call
        final int[][] shapes = {{384, 200, 96}, {16, 1153, 384}, {2, 5, 3}};
        for (final int[] s : shapes) {
            final int rows = s[0];
            final int out = s[1];
            final int in = s[2];
            final float[] x = random(rows * in, rows);
            final float[] w = random(in * out, out);
            final float[] bias = random(out, in);
            final float[] expected = reference(rows, out, in, x, w, false, 0f, new float[rows * out]);
            for (int i = 0; i < expected.length; i++) {
                expected[i] = (float) ((double) expected[i] + bias[i % out]);
            }
            final float[] single = linear(one, rows, out, in, x, w, bias);
            final float[] split = linear(three, rows, out, in, x, w, bias);
            assertThat(split).as("%dx%dx%d", rows, out, in).isEqualTo(single);
            for (int i = 0; i < expected.length; i++) {
                assertThat(split[i]).as("element %d of %dx%dx%d", i, rows, out, in)
                        .isCloseTo(expected[i], org.assertj.core.api.Assertions.within(1e-4f));
            }
        }
    }

    private static float[] linear(final ParallelGemm gemm, final int rows, final int out, final int in,
                                  final float[] x, final float[] w, final float[] bias) {
        try (FloatPointer xn = NativeGemm.copyOf(x); FloatPointer wn = NativeGemm.copyOf(w);
             FloatPointer yn = NativeGemm.copyOf(random(rows * out, 99))) { // garbage the fill must overwrite
            gemm.linear(rows, xn, wn, bias, in, yn);
            final float[] y = new float[rows * out];
            yn.get(y);
            return y;
        }
    }
}
