package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;

/**
 * {@link NativeGemm} calls split over the model's own threads, each part a single-threaded OpenBLAS call.
 *
 * <p>Why not OpenBLAS's threads: a forward alternates GEMMs with Java work (softmax, GELU, LayerNorm) and with
 * many small per-head GEMMs that OpenBLAS runs on one thread; its worker pool cannot share those, and
 * concurrent callers serialise on it. With one pool that splits everything (as ONNX Runtime does with MLAS), a
 * MiniLM forward at T=384 gained 1.06x from a second core under OpenBLAS's threads. A GEMM is cut along the
 * larger of its output dimensions: rows (each part packs all of B, small next to its work when m is large)
 * or columns in multiples of 16 (each part packs all of A, the short side).
 */
final class ParallelGemm {
    /** Below this many multiply-adds per part, a hand-off (~10-50 us) costs more than it saves. */
    private static final long MIN_MACS_PER_PART = 1L << 20;
    private static final int COLUMN_ALIGN = 16;

    private final RowParallel threads;

    ParallelGemm(final RowParallel threads) {
        this.threads = threads;
    }

    /** As {@link NativeGemm#gemm}, split over the threads when large enough. */
    void gemm(final int m, final int n, final int k, final FloatPointer a, final int lda, final boolean transB,
              final FloatPointer b, final int ldb, final float beta, final FloatPointer c, final int ldc) {
        final int parts = (int) Math.min(threads.threads(), (long) m * n * k / MIN_MACS_PER_PART);
        if (parts <= 1) {
            NativeGemm.gemm(m, n, k, a, lda, transB, b, ldb, beta, c, ldc);
        } else if (m >= n) {
            threads.forParts(m, parts, (from, to) -> NativeGemm.gemm(to - from, n, k,
                    NativeGemm.at(a, (long) from * lda), lda, transB, b, ldb, beta,
                    NativeGemm.at(c, (long) from * ldc), ldc));
        } else {
            final int blocks = (n + COLUMN_ALIGN - 1) / COLUMN_ALIGN;
            threads.forParts(blocks, parts, (from, to) -> {
                final int j0 = from * COLUMN_ALIGN;
                final int j1 = Math.min(n, to * COLUMN_ALIGN);
                NativeGemm.gemm(m, j1 - j0, k, a, lda, transB,
                        NativeGemm.at(b, transB ? (long) j0 * ldb : j0), ldb, beta, NativeGemm.at(c, j0), ldc);
            });
        }
    }

    /**
     * y[rows, out] = x[rows, in] W^T + bias for a linear layer whose weight is stored pre-transposed [in, out]: the
     * bias is pre-filled into y and the gemm accumulates onto it (beta = 1).
     */
    void linear(final int rows, final FloatPointer x, final FloatPointer weightT, final float[] bias, final int in,
                final FloatPointer y) {
        final int out = bias.length;
        NativeGemm.fillRows(y, bias, rows);
        gemm(rows, out, in, x, in, false, weightT, out, 1f, y, out);
    }
}
