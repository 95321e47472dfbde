package dev.seqembed.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels}' softmax and GELU written with the JDK's SIMD API, for JVMs started with
 * {@code --add-modules jdk.incubator.vector}: about 3x faster than C2's auto-vectorisation of the scalar loops,
 * which cannot vectorise the float/int bit moves of exp. Every lane performs exactly the scalar kernels'
 * operations in the same order (no fused multiply-adds where they have none, and the softmax sum in the same
 * 16 partial sums), so both give the same bits and a streamed vector never depends on which JVM computed it.
 * Loaded only when the module is present ({@link Kernels} dispatches).
 */
final class VectorKernels {
    /** Eight lanes: native on AVX2 and AVX-512 machines alike; two of them make the 16 partial sums. */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int L = 8;

    private VectorKernels() {
    }

    /** exp of every lane, as {@code Kernels.exp}. */
    private static FloatVector exp(final FloatVector v) {
        final FloatVector xc = v.max(Kernels.EXP_MIN);
        final FloatVector t = xc.mul(Kernels.LOG2E).add(Kernels.ROUND_MAGIC);
        final FloatVector n = t.sub(Kernels.ROUND_MAGIC);
        final FloatVector r = xc.sub(n.mul(Kernels.LN2_HI)).sub(n.mul(Kernels.LN2_LO));
        FloatVector p = r.mul(Kernels.EXP_P0).add(Kernels.EXP_P1);
        p = p.mul(r).add(Kernels.EXP_P2);
        p = p.mul(r).add(Kernels.EXP_P3);
        p = p.mul(r).add(Kernels.EXP_P4);
        p = p.mul(r).add(Kernels.EXP_P5);
        final FloatVector y = p.mul(r).mul(r).add(r).add(1f);
        final IntVector scale = t.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(scale.reinterpretAsFloats());
    }

    /** As {@link Kernels#softmax}. */
    static void softmax(final float[] a, final int off, final int n, final int len, final Kernels.Scratch tmp) {
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i + L <= n; i += L) {
            mv = mv.max(FloatVector.fromArray(F, a, off + i));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, a[off + i]);
        }
        FloatVector low = FloatVector.zero(F);
        FloatVector high = FloatVector.zero(F);
        i = 0;
        for (; i + Kernels.LANES <= n; i += Kernels.LANES) {
            final FloatVector e0 = exp(FloatVector.fromArray(F, a, off + i).sub(max));
            final FloatVector e1 = exp(FloatVector.fromArray(F, a, off + i + L).sub(max));
            e0.intoArray(a, off + i);
            e1.intoArray(a, off + i + L);
            low = low.add(e0);
            high = high.add(e1);
        }
        low.intoArray(tmp.partial, 0);
        high.intoArray(tmp.partial, L);
        for (int j = i; j < n; j++) {
            a[off + j] = Kernels.exp(a[off + j] - max);
        }
        Kernels.normalize(a, off, n, i, len, tmp.partial);
    }

    /**
     * -1.26551223 + t (1.00002368 + t (... + t 0.17087277)) evaluated as the scalar kernel does, innermost
     * first (written out: a loop over the coefficients here kept C2 from intrinsifying the vector operations).
     */
    private static FloatVector erfcPolynomial(final FloatVector t) {
        final float[] c = Kernels.ERFC_P;
        FloatVector p = t.mul(c[9]);
        p = t.mul(p.add(c[8]));
        p = t.mul(p.add(c[7]));
        p = t.mul(p.add(c[6]));
        p = t.mul(p.add(c[5]));
        p = t.mul(p.add(c[4]));
        p = t.mul(p.add(c[3]));
        p = t.mul(p.add(c[2]));
        p = t.mul(p.add(c[1]));
        return p.add(c[0]);
    }

    /** As {@link Kernels#biasGelu}. */
    static void biasGelu(final float[] a, final int fromRow, final int toRow, final int cols, final float[] bias) {
        for (int row = fromRow; row < toRow; row++) {
            final int base = row * cols;
            int j = 0;
            for (; j + L <= cols; j += L) {
                final FloatVector x = FloatVector.fromArray(F, a, base + j).add(FloatVector.fromArray(F, bias, j));
                final FloatVector ax = x.abs();
                final FloatVector z = ax.mul(Kernels.INV_SQRT2);
                final FloatVector t = FloatVector.broadcast(F, 1f).div(z.mul(0.5f).add(1f));
                final FloatVector z2 = z.mul(z);
                final FloatVector z2lo = z.fma(z, z2.neg());
                final FloatVector poly = erfcPolynomial(t);
                final FloatVector e = exp(poly.sub(z2).sub(z2lo));
                x.add(ax).mul(0.5f).sub(ax.mul(0.5f).mul(t.mul(e))).intoArray(a, base + j);
            }
            for (; j < cols; j++) {
                a[base + j] = Kernels.gelu(a[base + j] + bias[j]);
            }
        }
    }
}
