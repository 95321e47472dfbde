package dev.seqembed.model;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import static org.assertj.core.api.Assertions.assertThat;

class NumericsTest {

    @Test
    void referenceErfIsAccurate() {
        // known values (Abramowitz & Stegun table 7.1, and erf(x) ~ 2x/sqrt(pi) for tiny x)
        assertThat(Reference.erf(0.5)).isCloseTo(0.5204998778130465, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(Reference.erf(1.0)).isCloseTo(0.8427007929497149, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(Reference.erf(2.0)).isCloseTo(0.9953222650189527, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(Reference.erf(-3.0)).isCloseTo(-0.9999779095030014, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(Reference.erf(1e-10)).isCloseTo(1.1283791670955126e-10, org.assertj.core.data.Offset.offset(1e-24));
        assertThat(Reference.erf(7.0)).isEqualTo(1.0);
    }

    @Test
    void nd4jGeluIsTheErfFormNotAnApproximation() {
        final int n = 4001;
        final float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -10f + 20f * i / (n - 1);
        }
        final float[] y = NdMath.data(NdMath.geluErf(NdMath.row(x.clone())));
        double maxErr = 0;
        double maxTanhApproxErr = 0;
        for (int i = 0; i < n; i++) {
            final double ref = Reference.gelu(x[i]);
            maxErr = Math.max(maxErr, Math.abs(y[i] - ref) / Math.max(Math.abs(ref), 1e-3));
            final double tanhApprox = 0.5 * x[i] * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x[i] + 0.044715 * Math.pow(x[i], 3))));
            maxTanhApproxErr = Math.max(maxTanhApproxErr, Math.abs(tanhApprox - ref) / Math.max(Math.abs(ref), 1e-3));
        }
        assertThat(maxErr).isLessThan(2e-6);
        // the check has teeth: the usual tanh approximation would fail it
        assertThat(maxTanhApproxErr).isGreaterThan(1e-4);
    }

    @Test
    void softmaxIsStableForHugeAndInfiniteLogits() {
        final float inf = Float.NEGATIVE_INFINITY;
        final INDArray s = NdMath.matrix(new float[] {1e4f, 1e4f - 1f, -1e4f, 0f, 3e38f, 3e38f, inf, 2f, 1f}, 3, 3);
        final float[] p = NdMath.data(NdMath.softmaxRows(s));
        final double e1 = Math.exp(-1);
        final float big = (float) (1 / (1 + e1));
        final float small = (float) (e1 / (1 + e1));
        final org.assertj.core.data.Offset<Float> eps = org.assertj.core.data.Offset.offset(1e-6f);
        // row 0: [1e4, 1e4 - 1, -1e4]
        assertThat(p[0]).isCloseTo(big, eps);
        assertThat(p[1]).isCloseTo(small, eps);
        assertThat(p[2]).isZero();
        // row 1: [0, 3e38, 3e38]: exp would overflow without the max shift
        assertThat(p[3]).isZero();
        assertThat(p[4]).isEqualTo(0.5f);
        assertThat(p[5]).isEqualTo(0.5f);
        // row 2: [-inf, 2, 1] as the causal mask gives
        assertThat(p[6]).isZero();
        assertThat(p[7]).isCloseTo(big, eps);
        assertThat(p[8]).isCloseTo(small, eps);
    }

    @Test
    void layerNormMatchesReferenceOnOffsetData() {
        // rows with a large common offset: a naive E[x^2] - E[x]^2 would lose the variance
        final int h = 64;
        final float[] x = new float[2 * h];
        for (int i = 0; i < x.length; i++) {
            x[i] = 1000f + (float) Math.sin(i);
        }
        final float[] g = new float[h];
        final float[] b = new float[h];
        java.util.Arrays.fill(g, 1.5f);
        java.util.Arrays.fill(b, 0.25f);
        final float[] y = NdMath.data(NdMath.layerNorm(NdMath.matrix(x, 2, h), NdMath.row(g), NdMath.row(b), 1e-12));
        final double[][] xd = new double[2][h];
        for (int i = 0; i < x.length; i++) {
            xd[i / h][i % h] = x[i];
        }
        final double[][] ref = Reference.layerNorm(xd, new Tensor(new int[] {h}, g), new Tensor(new int[] {h}, b), 1e-12);
        for (int i = 0; i < x.length; i++) {
            // float32 input 1000 + sin: the data itself carries ~6e-5 absolute rounding, amplified by 1/std ~ 1.4
            assertThat(Math.abs(y[i] - ref[i / h][i % h])).isLessThan(2e-3);
        }
    }

    @Test
    void javaGeluKernelIsTheErfForm() {
        // the kernel the models use: bias add then exact GELU, over a [2, n] block with blocks of BLOCK
        final int n = 4001;
        final float[] x = new float[2 * n];
        final float[] bias = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -10f + 20f * i / (n - 1);
            x[n + i] = x[i] - 0.25f;
            bias[i] = 0.25f;
        }
        final float[] y = x.clone();
        Kernels.biasGelu(y, 0, 2, n, bias, new Kernels.Scratch());
        double maxErr = 0;
        for (int i = 0; i < 2 * n; i++) {
            final double v = i < n ? (double) x[i] + 0.25f : x[i] + 0.25f;
            final double ref = Reference.gelu((float) v);
            maxErr = Math.max(maxErr, Math.abs(y[i] - ref) / Math.max(Math.abs(ref), 1e-3));
        }
        assertThat(maxErr).isLessThan(2e-6);
    }

    @Test
    void javaSoftmaxKernelIsStableAndZeroesHiddenKeys() {
        final float[] s = {1e4f, 1e4f - 1f, -1e4f, 0f, 3e38f, 3e38f, 2f, 1f, 123f};
        final Kernels.Scratch tmp = new Kernels.Scratch();
        Kernels.softmax(s, 0, 3, 3, tmp);
        Kernels.softmax(s, 3, 3, 3, tmp);
        Kernels.softmax(s, 6, 2, 3, tmp); // a causal row: the third key is not visible
        final double e1 = Math.exp(-1);
        final org.assertj.core.data.Offset<Float> eps = org.assertj.core.data.Offset.offset(1e-6f);
        assertThat(s[0]).isCloseTo((float) (1 / (1 + e1)), eps);
        assertThat(s[1]).isCloseTo((float) (e1 / (1 + e1)), eps);
        assertThat(s[2]).isCloseTo(0f, eps);
        assertThat(s[3]).isCloseTo(0f, eps);
        assertThat(s[4]).isCloseTo(0.5f, eps);
        assertThat(s[5]).isCloseTo(0.5f, eps);
        assertThat(s[6]).isCloseTo((float) (1 / (1 + e1)), eps);
        assertThat(s[7]).isCloseTo((float) (e1 / (1 + e1)), eps);
        assertThat(s[8]).isZero();
        // long rows (several blocks) against double exp
        final int n = 3 * Kernels.BLOCK + 17;
        final float[] r = new float[n];
        for (int i = 0; i < n; i++) {
            r[i] = (float) (20 * Math.sin(i * 0.37));
        }
        final double[] ref = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (final float v : r) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            ref[i] = Math.exp(r[i] - max);
            sum += ref[i];
        }
        final float[] logits = r.clone();
        Kernels.softmax(r, 0, n, n, tmp);
        for (int i = 0; i < n; i++) {
            // float rounding of logit - max (ulp ~ 6e-8 |logit - max|) bounds the relative accuracy
            final double tol = 1e-6 * (1 + Math.abs(logits[i] - max)) * (ref[i] / sum);
            assertThat(Math.abs(r[i] - ref[i] / sum)).isLessThanOrEqualTo(tol);
        }
    }
}
