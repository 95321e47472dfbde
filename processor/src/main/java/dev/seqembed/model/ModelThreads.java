package dev.seqembed.model;

import org.bytedeco.openblas.presets.openblas_nolapack;

import dev.seqembed.platform.BlasKernel;

/**
 * The threads every model's forward splits its work over ({@code seqembed.native.threads}, see
 * {@link BlasKernel}), shared by all models of the process. OpenBLAS itself is held to one thread per call:
 * the split happens here ({@link ParallelGemm}), so its worker pool never competes with these threads.
 */
final class ModelThreads {
    static final RowParallel ROWS;
    static final ParallelGemm GEMM;

    static {
        // ND4J sets OpenBLAS's thread count when its backend starts: start it first, so that ours holds.
        BlasKernel.probe();
        openblas_nolapack.blas_set_num_threads(1);
        ROWS = new RowParallel(BlasKernel.nativeThreadCount());
        GEMM = new ParallelGemm(ROWS);
    }

    private ModelThreads() {
    }
}
