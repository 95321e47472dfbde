package dev.seqembed.model;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;

import dev.seqembed.platform.BlasKernel;

/**
 * Direct row-major {@code cblas_sgemm} of the OpenBLAS that ND4J itself loads (JavaCPP's
 * {@code openblas_nolapack} preset, same library and kernel from {@link BlasKernel}), on native float buffers;
 * one OpenBLAS thread per call ({@link ModelThreads} splits the work). Compared with an ND4J {@code mmul} per
 * projection this drops the ~20-35 us op overhead and the result allocation, and lets attention read heads in
 * place through leading dimensions.
 *
 * <p>Weights live in native memory owned by the model ({@link #copyOf}); activations in per-thread
 * {@link Workspace} buffers. Only the float[]-free overloads are used: JNI array pinning would copy.
 */
final class NativeGemm {
    static {
        BlasKernel.ensureConfigured();
        Loader.load(openblas_nolapack.class);
    }

    private NativeGemm() {
    }

    /** A native copy of row-major data; freed by JavaCPP's deallocator when unreachable. */
    static FloatPointer copyOf(final float[] data) {
        final FloatPointer p = new FloatPointer(data.length);
        p.put(data, 0, data.length);
        return p;
    }

    /** An nn.Linear weight [out, in] as a native pre-transposed [in, out] matrix. */
    static FloatPointer transposed(final float[] w, final int out, final int in) {
        final float[] t = new float[w.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                t[i * out + o] = w[o * in + i];
            }
        }
        return copyOf(t);
    }

    /** A view starting {@code offset} floats into {@code p} (a new object: shared pointers are never moved). */
    static FloatPointer at(final FloatPointer p, final long offset) {
        return offset == 0 ? p : new FloatPointer(p).position(p.position() + offset);
    }

    /**
     * C[m, n] = A[m, k] op(B) + beta C, row-major with leading dimensions; op(B) = B[k, n] or, with
     * {@code transB}, B[n, k]^T.
     */
    static void gemm(final int m, final int n, final int k, final FloatPointer a, final int lda,
                     final boolean transB, final FloatPointer b, final int ldb, final float beta,
                     final FloatPointer c, final int ldc) {
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasNoTrans,
                transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
                m, n, k, 1f, a, lda, b, ldb, beta, c, ldc);
    }

    /** Copies a[0, n) into native {@code p} at {@code offset}. */
    static void put(final FloatPointer p, final long offset, final float[] a, final int n) {
        at(p, offset).put(a, 0, n);
    }

    /** Copies rows [from, to) of a row-major [*, cols] matrix from a to native p (same layout). */
    static void putRows(final FloatPointer p, final float[] a, final int from, final int to, final int cols) {
        at(p, (long) from * cols).put(a, from * cols, (to - from) * cols);
    }

    /** Copies rows [from, to) of a row-major [*, cols] matrix from native p to a (same layout). */
    static void getRows(final FloatPointer p, final float[] a, final int from, final int to, final int cols) {
        at(p, (long) from * cols).get(a, from * cols, (to - from) * cols);
    }

    /** Copies n floats of native {@code p} at {@code offset} into a[0, n). */
    static void get(final FloatPointer p, final long offset, final float[] a, final int n) {
        at(p, offset).get(a, 0, n);
    }

    /** Fills rows [0, rows) of a native [rows, row.length] matrix with {@code row} (log2(rows) memcpys). */
    static void fillRows(final FloatPointer p, final float[] row, final int rows) {
        final int n = row.length;
        p.put(row, 0, n);
        long done = 1;
        while (done < rows) {
            final long copy = Math.min(done, rows - done);
            // memcpy takes void*: its pointers' positions count bytes
            Pointer.memcpy(new BytePointer(p).position(Float.BYTES * (p.position() + done * n)),
                    new BytePointer(p).position(Float.BYTES * p.position()), copy * n * Float.BYTES);
            done += copy;
        }
    }
}
