package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;

import java.util.SplittableRandom;

/**
 * An n x n x n float GEMM run the way model forwards run theirs (OpenBLAS on native buffers, split over the
 * model threads): the machine's reference figure for {@code bench}. Owns its native buffers.
 */
public final class SquareGemm implements AutoCloseable {
    private final int n;
    private final FloatPointer a;
    private final FloatPointer b;
    private final FloatPointer c;

    public SquareGemm(final int n) {
        this.n = n;
        final SplittableRandom rnd = new SplittableRandom(n);
        final float[] data = new float[n * n];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) rnd.nextDouble(-1, 1);
        }
        this.a = NativeGemm.copyOf(data);
        this.b = NativeGemm.copyOf(data);
        this.c = new FloatPointer((long) n * n);
    }

    /** One C = A B. */
    public void run() {
        ModelThreads.GEMM.gemm(n, n, n, a, n, false, b, n, 0f, c, n);
    }

    /** Multiply-adds times two. */
    public double flops() {
        return 2.0 * n * n * n;
    }

    @Override
    public void close() {
        a.close();
        b.close();
        c.close();
    }
}
