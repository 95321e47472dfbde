package dev.seqembed.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import dev.seqembed.platform.BlasKernel;

/**
 * Manual timing of the default models (not a test: no timing assertions in unit tests, SPEC §8).
 * Run: mvn -o -q -pl processor test-compile exec... or from an IDE; prints ms and GFLOP/s.
 */
public final class ModelTiming {
    private ModelTiming() {
    }

    public static void main(final String[] args) throws Exception {
        final Path dir = Files.createTempDirectory("seqembed-timing");
        DefaultModels.write(dir);
        final DenseWindowModel dense = DenseWindowModel.load(dir.resolve("dense"));
        final BertModel bert = BertModel.load(dir.resolve("attention"));
        System.out.println("kernel " + BlasKernel.coreType() + " (" + BlasKernel.source() + "), threads "
                + BlasKernel.nativeThreads());
        // plain sgemm for scale
        final int n = 1024;
        final float[] a = new float[n * n];
        Arrays.fill(a, 0.5f);
        final var ma = NdMath.matrix(a, n, n);
        for (int i = 0; i < 3; i++) {
            ma.mmul(ma);
        }
        long t0 = System.nanoTime();
        final int reps = 10;
        for (int i = 0; i < reps; i++) {
            ma.mmul(ma);
        }
        double s = (System.nanoTime() - t0) / 1e9 / reps;
        System.out.printf("sgemm 1024^3: %.2f ms, %.1f GFLOP/s%n", s * 1e3, 2.0 * n * n * n / s / 1e9);

        for (final int len : new int[] {16, 128, 512}) {
            final int[] tokens = Fixtures.tokens(len, len, 30522);
            time("encode " + len, bert.config().flops(len, len), () -> bert.encode(tokens, Pooling.MEAN, true));
        }
        for (final int batch : new int[] {1, 64, 256}) {
            final int[][] w = new int[batch][];
            final int[] valid = new int[batch];
            for (int b = 0; b < batch; b++) {
                w[b] = Fixtures.tokens(b, 16, 30522);
                valid[b] = 16;
            }
            time("embedWindows " + batch, dense.config().flopsPerWindow() * batch, () -> dense.embedWindows(w, valid));
        }
        // causal: chunk of 16 after a prefix of p tokens vs full recompute
        for (final int p : new int[] {0, 112, 496}) {
            final int[] prefix = Fixtures.tokens(p + 1, Math.max(p, 1), 30522);
            final int[] chunk = Fixtures.tokens(p + 2, 16, 30522);
            final KvCache base = bert.newCache();
            if (p > 0) {
                bert.appendCausal(base, Arrays.copyOf(prefix, p), Pooling.MEAN, true);
            }
            time("appendCausal 16 after " + p, bert.config().flops(16, p + 16),
                    () -> bert.appendCausal(base.copy(), chunk, Pooling.MEAN, true));
        }
    }

    private static void time(final String what, final long flops, final Runnable r) {
        for (int i = 0; i < 5; i++) {
            r.run();
        }
        int reps = 0;
        final long t0 = System.nanoTime();
        long el;
        do {
            r.run();
            reps++;
            el = System.nanoTime() - t0;
        } while (el < 1_500_000_000L && reps < 2000);
        final double s = el / 1e9 / reps;
        System.out.printf("%-28s %8.3f ms  %7.1f GFLOP/s (analytic %.1f MFLOP)%n", what, s * 1e3, flops / s / 1e9,
                flops / 1e6);
    }
}
