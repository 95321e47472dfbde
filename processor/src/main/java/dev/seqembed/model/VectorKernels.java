package dev.seqembed.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Kernels}' softmax, GELU and LayerNorm written with the JDK's SIMD API, for JVMs started with
 * {@code --add-modules jdk.incubator.vector}: faster than C2's auto-vectorisation of the scalar loops, which
 * cannot vectorise the float/int bit moves of exp. Every lane performs exactly the scalar kernels' operations in
 * the same order (fused multiply-adds exactly where they call Math.fma, the softmax sum in the same 8 partial
 * sums), so both give the same bits and a streamed vector never depends on which JVM computed it. Loaded only
 * when the module is present ({@link Kernels} dispatches).
 *
 * <p>No method here takes or returns a vector: C2 does not inline a callee it has already compiled on its own
 * when that code is large ("already compiled into a big method"), and a call that is not inlined boxes its
 * vectors on the heap. With exp as such a helper these kernels ran slower than the scalar loops (GELU 4.8 against
 * 3.2 ns/element); each loop therefore sits in a method of its own with everything written out in it. For the
 * same reason no caller inlines these methods ({@link dev.seqembed.platform.VectorSupport} adds the directive).
 */
final class VectorKernels {
    /** Eight lanes ({@link Kernels#LANES}): native on AVX2 and AVX-512 machines alike. */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int L = 8;

    private VectorKernels() {
    }

    /**
     * v[off + i] = exp(v[off + i] - shift) for i in [0, n), n a multiple of {@link #L}: per lane exactly
     * {@code Kernels.exp(v - shift)}. Returns nothing but leaves in {@code sums} the {@link Kernels#LANES} partial
     * sums of the results (element i in sum i mod LANES, added in order), which the softmax needs.
     */
    private static void expShifted(final float[] v, final int off, final int n, final float shift,
                                   final float[] sums) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < n; i += L) {
            final FloatVector xc = FloatVector.fromArray(F, v, off + i).sub(shift).max(Kernels.EXP_MIN);
            final FloatVector t = xc.mul(Kernels.LOG2E).add(Kernels.ROUND_MAGIC);
            final FloatVector m = t.sub(Kernels.ROUND_MAGIC);
            final FloatVector r = xc.sub(m.mul(Kernels.LN2_HI)).sub(m.mul(Kernels.LN2_LO));
            FloatVector p = r.fma(Kernels.EXP_P0, Kernels.EXP_P1);
            p = p.fma(r, FloatVector.broadcast(F, Kernels.EXP_P2));
            p = p.fma(r, FloatVector.broadcast(F, Kernels.EXP_P3));
            p = p.fma(r, FloatVector.broadcast(F, Kernels.EXP_P4));
            p = p.fma(r, FloatVector.broadcast(F, Kernels.EXP_P5));
            final FloatVector y = p.mul(r).fma(r, r).add(1f);
            final IntVector scale = t.reinterpretAsInts().add(127).lanewise(VectorOperators.LSHL, 23);
            final FloatVector e = y.mul(scale.reinterpretAsFloats());
            e.intoArray(v, off + i);
            acc = acc.add(e);
        }
        acc.intoArray(sums, 0);
    }

    /** As {@link Kernels#softmax}. */
    static void softmax(final float[] a, final int off, final int n, final int len, final Kernels.Scratch tmp) {
        final float max = max(a, off, n);
        final int whole = n - n % Kernels.LANES;
        expShifted(a, off, whole, max, tmp.partial);
        for (int j = whole; j < n; j++) {
            a[off + j] = Kernels.exp(a[off + j] - max);
        }
        Kernels.normalize(a, off, n, whole, len, tmp.partial);
    }

    private static float max(final float[] a, final int off, final int n) {
        FloatVector mv = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i + L <= n; i += L) {
            mv = mv.max(FloatVector.fromArray(F, a, off + i));
        }
        float max = mv.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, a[off + i]);
        }
        return max;
    }

    /**
     * As {@link Kernels#biasGelu}: in blocks of {@link Kernels#BLOCK} columns, three passes over each (the
     * exponent, its exp, the result) through the scratch rows.
     */
    static void biasGelu(final float[] a, final int fromRow, final int toRow, final int cols, final float[] bias,
                         final Kernels.Scratch tmp) {
        final int vectorCols = cols - cols % L;
        for (int row = fromRow; row < toRow; row++) {
            final int base = row * cols;
            for (int b = 0; b < vectorCols; b += Kernels.BLOCK) {
                final int k = Math.min(vectorCols, b + Kernels.BLOCK) - b;
                geluExponent(a, base + b, bias, b, k, tmp);
                expShifted(tmp.e, 0, k, 0f, tmp.partial);
                geluResult(a, base + b, k, tmp);
            }
            for (int j = vectorCols; j < cols; j++) {
                a[base + j] = Kernels.gelu(a[base + j] + bias[j]);
            }
        }
    }

    /**
     * For x = a[at, at+k) + bias[b, b+k): x into tmp.x, t = 1 / (1 + z/2) into tmp.t and the exponent
     * -1.26551223 + t P(t) - z^2 into tmp.e (z = |x| / sqrt 2; z^2 as an exact pair). The polynomial by Horner's
     * rule in fused multiply-adds, as the scalar kernel evaluates it, with its coefficients written out (reading
     * them from an array here kept C2 from intrinsifying the vector operations).
     */
    private static void geluExponent(final float[] a, final int at, final float[] bias, final int b, final int k,
                                     final Kernels.Scratch tmp) {
        final FloatVector one = FloatVector.broadcast(F, 1f);
        for (int j = 0; j < k; j += L) {
            final FloatVector x = FloatVector.fromArray(F, a, at + j).add(FloatVector.fromArray(F, bias, b + j));
            final FloatVector z = x.abs().mul(Kernels.INV_SQRT2);
            final FloatVector t = one.div(z.mul(0.5f).add(1f));
            final FloatVector z2 = z.mul(z);
            final FloatVector z2lo = z.fma(z, z2.neg());
            FloatVector p = t.fma(0.17087277f, -0.82215223f);
            p = p.fma(t, FloatVector.broadcast(F, 1.48851587f));
            p = p.fma(t, FloatVector.broadcast(F, -1.13520398f));
            p = p.fma(t, FloatVector.broadcast(F, 0.27886807f));
            p = p.fma(t, FloatVector.broadcast(F, -0.18628806f));
            p = p.fma(t, FloatVector.broadcast(F, 0.09678418f));
            p = p.fma(t, FloatVector.broadcast(F, 0.37409196f));
            p = p.fma(t, FloatVector.broadcast(F, 1.00002368f));
            p = p.fma(t, FloatVector.broadcast(F, -1.26551223f));
            x.intoArray(tmp.x, j);
            t.intoArray(tmp.t, j);
            p.sub(z2).sub(z2lo).intoArray(tmp.e, j);
        }
    }

    /** a[at + j] = 0.5 (x + |x|) - 0.5 |x| (t exp(...)) from the scratch rows, as the scalar kernel. */
    private static void geluResult(final float[] a, final int at, final int k, final Kernels.Scratch tmp) {
        for (int j = 0; j < k; j += L) {
            final FloatVector x = FloatVector.fromArray(F, tmp.x, j);
            final FloatVector ax = x.abs();
            final FloatVector te = FloatVector.fromArray(F, tmp.t, j).mul(FloatVector.fromArray(F, tmp.e, j));
            x.add(ax).mul(0.5f).sub(ax.mul(0.5f).mul(te)).intoArray(a, at + j);
        }
    }

    /**
     * As {@link Kernels#addLayerNorm}, in three passes over each row instead of five: the sum is taken as the row is
     * written and the squares as it is centred, each in the scalar kernel's order (lane l: elements l, l+8, …, the
     * lanes then added in double in lane order, the tail after them), so the bits are the same (~0.75 -> ~0.50
     * ns/element).
     */
    static void addLayerNorm(final float[] y, final float[] bias, final float[] residual, final float[] out,
                             final int fromRow, final int toRow, final int h, final float[] gamma,
                             final float[] beta, final double eps) {
        final int whole = h - h % L;
        for (int r = fromRow; r < toRow; r++) {
            final int base = r * h;
            final float mean = (float) (addRow(y, bias, residual, out, base, h, whole) / h);
            final double var = centre(out, base, h, whole, mean) / h;
            scaleShift(out, base, h, (float) (1.0 / Math.sqrt(var + eps)), gamma, beta);
        }
    }

    /** out[base + j] = y + bias[j] + residual, the terms that are not null, added left to right; returns their sum. */
    private static double addRow(final float[] y, final float[] bias, final float[] residual, final float[] out,
                                 final int base, final int h, final int whole) {
        FloatVector acc = FloatVector.zero(F);
        for (int j = 0; j < whole; j += L) {
            FloatVector v = FloatVector.fromArray(F, y, base + j);
            if (bias != null) {
                v = v.add(FloatVector.fromArray(F, bias, j));
            }
            if (residual != null) {
                v = v.add(FloatVector.fromArray(F, residual, base + j));
            }
            v.intoArray(out, base + j);
            acc = acc.add(v);
        }
        double s = 0;
        for (int l = 0; l < L; l++) { // the lanes in double, in lane order (written out: see the class comment)
            s += acc.lane(l);
        }
        for (int j = whole; j < h; j++) {
            float v = y[base + j];
            if (bias != null) {
                v += bias[j];
            }
            if (residual != null) {
                v += residual[base + j];
            }
            out[base + j] = v;
            s += v;
        }
        return s;
    }

    /** a[off, off+n) -= mean; returns the sum of the centred squares. */
    private static double centre(final float[] a, final int off, final int n, final int whole, final float mean) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < whole; i += L) {
            final FloatVector d = FloatVector.fromArray(F, a, off + i).sub(mean);
            d.intoArray(a, off + i);
            acc = acc.add(d.mul(d));
        }
        double s = 0;
        for (int l = 0; l < L; l++) {
            s += acc.lane(l);
        }
        for (int i = whole; i < n; i++) {
            a[off + i] -= mean;
            s += (double) a[off + i] * a[off + i];
        }
        return s;
    }

    /** a = a * inv * gamma + beta, in that order. */
    private static void scaleShift(final float[] a, final int off, final int n, final float inv, final float[] gamma,
                                   final float[] beta) {
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, a, off + i).mul(inv).mul(FloatVector.fromArray(F, gamma, i))
                    .add(FloatVector.fromArray(F, beta, i)).intoArray(a, off + i);
        }
        for (; i < n; i++) {
            a[off + i] = a[off + i] * inv * gamma[i] + beta[i];
        }
    }
}
