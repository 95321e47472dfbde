package dev.seqembed.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import dev.seqembed.platform.VectorSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SIMD kernels give the scalar kernels' bits: a vector computed by a JVM with the module (tests, the
 * container) equals one computed without (a plain {@code java -jar}), so streamed and offline vectors stay equal.
 */
class VectorKernelsTest {

    @Test
    void theTestJvmRunsTheVectorKernels() {
        // surefire adds the module (processor/pom.xml): without it the comparisons below would not run them
        assertThat(VectorSupport.enabled()).isTrue();
    }

    @Test
    void softmaxGivesTheScalarBitsForEveryLengthAndTail() {
        final SplittableRandom rnd = new SplittableRandom(11);
        for (final int n : new int[] {1, 7, 8, 15, 16, 17, 31, 255, 256, 257, 384, 511, 1000}) {
            for (final double spread : new double[] {1, 30, 300}) {
                final float[] row = new float[n + 5];
                for (int i = 0; i < n; i++) {
                    row[i] = (float) (rnd.nextDouble(-1, 1) * spread);
                }
                final float[] scalar = row.clone();
                final float[] vector = row.clone();
                Kernels.softmaxScalar(scalar, 0, n, n + 5, new Kernels.Scratch());
                VectorKernels.softmax(vector, 0, n, n + 5, new Kernels.Scratch());
                assertThat(vector).as("n %d spread %s", n, spread).isEqualTo(scalar);
                double sum = 0;
                for (final float v : vector) {
                    sum += v;
                }
                assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
            }
        }
    }

    @Test
    void softmaxAtAnOffsetLeavesTheRestAlone() {
        final float[] a = {9f, 1f, 2f, 3f, 9f, 9f};
        final float[] b = a.clone();
        Kernels.softmaxScalar(a, 1, 2, 3, new Kernels.Scratch());
        VectorKernels.softmax(b, 1, 2, 3, new Kernels.Scratch());
        assertThat(b).isEqualTo(a);
        assertThat(b[0]).isEqualTo(9f);
        assertThat(b[3]).isZero();
        assertThat(b[4]).isEqualTo(9f);
    }

    @Test
    void geluGivesTheScalarBitsAcrossTheRangeAndTails() {
        final SplittableRandom rnd = new SplittableRandom(5);
        for (final int cols : new int[] {1, 8, 13, 264, 300, 1536}) {
            final int rows = 3;
            final float[] a = new float[rows * cols];
            final float[] bias = new float[cols];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rnd.nextDouble(-12, 12);
            }
            for (int j = 0; j < cols; j++) {
                bias[j] = (float) rnd.nextDouble(-0.5, 0.5);
            }
            final float[] scalar = a.clone();
            final float[] vector = a.clone();
            Kernels.biasGeluScalar(scalar, 0, rows, cols, bias, new Kernels.Scratch());
            VectorKernels.biasGelu(vector, 0, rows, cols, bias, new Kernels.Scratch());
            assertThat(vector).as("cols %d", cols).isEqualTo(scalar);
            for (int i = 0; i < a.length; i++) {
                assertThat(Kernels.gelu(a[i] + bias[i % cols])).isEqualTo(scalar[i]);
            }
        }
    }

    @Test
    void layerNormGivesTheScalarBitsWithEveryCombinationOfTerms() {
        final SplittableRandom rnd = new SplittableRandom(7);
        for (final int h : new int[] {1, 7, 8, 13, 384, 389}) {
            final int rows = 3;
            final float[] y = random(rnd, rows * h, 4);
            final float[] residual = random(rnd, rows * h, 4);
            final float[] bias = random(rnd, h, 1);
            final float[] gamma = random(rnd, h, 2);
            final float[] beta = random(rnd, h, 1);
            for (int terms = 0; terms < 4; terms++) {
                final float[] b = (terms & 1) != 0 ? bias : null;
                final float[] res = (terms & 2) != 0 ? residual : null;
                final float[] scalar = new float[rows * h];
                final float[] vector = new float[rows * h];
                Kernels.addLayerNormScalar(y, b, res, scalar, 1, rows, h, gamma, beta, 1e-12);
                VectorKernels.addLayerNorm(y, b, res, vector, 1, rows, h, gamma, beta, 1e-12);
                assertThat(vector).as("h %d terms %d", h, terms).isEqualTo(scalar);
                assertThat(vector[0]).as("row 0 is outside the range").isZero();
                // in place, as the encoder calls it (out = residual, or out = y)
                final float[] inPlaceScalar = (res != null ? res : y).clone();
                final float[] inPlaceVector = inPlaceScalar.clone();
                Kernels.addLayerNormScalar(res != null ? y : inPlaceScalar, b, res != null ? inPlaceScalar : null,
                        inPlaceScalar, 0, rows, h, gamma, beta, 1e-12);
                VectorKernels.addLayerNorm(res != null ? y : inPlaceVector, b, res != null ? inPlaceVector : null,
                        inPlaceVector, 0, rows, h, gamma, beta, 1e-12);
                assertThat(inPlaceVector).as("in place, h %d terms %d", h, terms).isEqualTo(inPlaceScalar);
            }
        }
    }

    private static float[] random(final SplittableRandom rnd, final int n, final double spread) {
        final float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextDouble(-spread, spread);
        }
        return a;
    }
}
