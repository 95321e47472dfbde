package dev.seqembed.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erfc;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import dev.seqembed.platform.BlasKernel;

/**
 * The few ND4J building blocks the models use, all float32 (DEPENDENCY-NOTES #12: every gemm
 * operand must share the data type). Every op works on whole matrices: no per-token loops.
 */
final class NdMath {
    static {
        BlasKernel.ensureConfigured();
    }

    private static final double INV_SQRT2 = 0.70710678118654752440;

    private NdMath() {
    }

    /** A [rows, cols] float32 matrix copied from row-major data. */
    static INDArray matrix(final float[] data, final int rows, final int cols) {
        return Nd4j.create(data, new long[] {rows, cols}, DataType.FLOAT);
    }

    /** A [1, n] row vector. */
    static INDArray row(final float[] data) {
        return Nd4j.create(data, new long[] {1, data.length}, DataType.FLOAT);
    }

    /** An nn.Linear weight [out, in] as the pre-transposed [in, out] matrix for x.mmul(w). */
    static INDArray transposed(final Tensor w) {
        return transposed(w.data(), w.shape()[0], w.shape()[1]);
    }

    static INDArray transposed(final float[] w, final int out, final int in) {
        final float[] t = new float[w.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                t[i * out + o] = w[o * in + i];
            }
        }
        return matrix(t, in, out);
    }

    /** x.mmul(wT) + b: one gemm for all rows. */
    static INDArray linear(final INDArray x, final INDArray wT, final INDArray b) {
        return x.mmul(wT).addiRowVector(b);
    }

    /** linear(x) then close x: for chains where the input is a temporary. */
    static INDArray linearConsuming(final INDArray x, final INDArray wT, final INDArray b) {
        final INDArray y = linear(x, wT, b);
        close(x);
        return y;
    }

    /** In-place activation. */
    static INDArray activate(final INDArray x, final Activation act) {
        return switch (act) {
            case GELU -> geluErf(x);
            case RELU -> Transforms.relu(x, false);
            case TANH -> Transforms.tanh(x, false);
        };
    }

    /**
     * In-place exact GELU, 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2), with libnd4j's erfc op
     * (float-accurate, measured). ND4J's own "gelu" ops are the sigmoid and tanh approximations, which differ
     * from PyTorch's nn.GELU by up to ~1e-3. The erfc form avoids the cancellation in 1 + erf(x) for x << 0.
     */
    static INDArray geluErf(final INDArray x) {
        final INDArray t = x.mul(-INV_SQRT2);
        Nd4j.getExecutioner().exec(new Erfc(t, t));
        x.muli(t.muli(0.5));
        close(t);
        return x;
    }

    /** In-place LayerNorm over each row: (x - mean) / sqrt(biased var + eps) * gamma + beta. */
    static INDArray layerNorm(final INDArray x, final INDArray gamma, final INDArray beta, final double eps) {
        final INDArray mean = x.mean(true, 1);
        x.subiColumnVector(mean);
        final INDArray sq = x.mul(x);
        final INDArray std = sq.mean(true, 1).addi(eps);
        Transforms.sqrt(std, false);
        x.diviColumnVector(std);
        close(mean, sq, std);
        return x.muliRowVector(gamma).addiRowVector(beta);
    }

    /** In-place, numerically stable softmax over each row (the row max is subtracted first). */
    static INDArray softmaxRows(final INDArray s) {
        final INDArray max = s.max(true, 1);
        s.subiColumnVector(max);
        Transforms.exp(s, false);
        final INDArray sum = s.sum(true, 1);
        s.diviColumnVector(sum);
        close(max, sum);
        return s;
    }

    /**
     * Frees the native memory of arrays this code allocated and no longer uses, instead of waiting for the
     * garbage collector (a forward pass makes tens of MB of temporaries; only small Java objects point to
     * them, so the heap would not trigger a collection in time). Views and released arrays are skipped.
     */
    static void close(final INDArray... arrays) {
        for (final INDArray a : arrays) {
            if (a != null && !a.wasClosed() && a.closeable()) {
                a.close();
            }
        }
    }

    /** Row-major float data of any array (copies if it is a view or not in 'c' order). */
    static float[] data(final INDArray x) {
        final INDArray c = x.isView() || x.ordering() != 'c' ? x.dup('c') : x;
        final float[] all = c.data().asFloat();
        final long n = c.length();
        return all.length == n ? all : java.util.Arrays.copyOf(all, (int) n);
    }

    /** Scales each row to unit L2 norm, max(norm, 1e-12) as torch.nn.functional.normalize. */
    static INDArray l2NormalizeRows(final INDArray y) {
        final INDArray norms = y.norm2(true, 1);
        Transforms.max(norms, 1e-12, false);
        y.diviColumnVector(norms);
        close(norms);
        return y;
    }

    /** L2-normalises a vector in place (double accumulation), max(norm, 1e-12). */
    static float[] l2Normalize(final float[] v) {
        double s = 0;
        for (final float f : v) {
            s += (double) f * f;
        }
        final double norm = Math.max(Math.sqrt(s), 1e-12);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] / norm);
        }
        return v;
    }
}
