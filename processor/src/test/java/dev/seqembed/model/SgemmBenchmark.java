package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The native sgemm ({@link NativeGemm}, OpenBLAS through JavaCPP) at all-MiniLM-L6-v2's shapes for T = 128 tokens,
 * plus a square 1024³ for the machine's peak. Shapes are {@code MxNxK}: C[M, N] = A[M, K] B[K, N]. GFLOP/s =
 * 2·M·N·K / time. Run with {@code mvn -B -Pjmh -pl processor -am verify}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class SgemmBenchmark {
    /**
     * Fused QKV projection, attention output, FFN up, FFN down (T = 128, hidden 384, intermediate 1536); scores
     * and context of one head (T x T x 32, T x 32 x T); square 1024.
     */
    @Param({"128x1152x384", "128x384x384", "128x1536x384", "128x384x1536", "128x128x32", "128x32x128",
        "1024x1024x1024"})
    public String shape;

    private int m;
    private int n;
    private int k;
    private FloatPointer a;
    private FloatPointer b;
    private FloatPointer c;

    @Setup
    public void allocate() {
        final String[] d = shape.split("x");
        m = Integer.parseInt(d[0]);
        n = Integer.parseInt(d[1]);
        k = Integer.parseInt(d[2]);
        final SplittableRandom rnd = new SplittableRandom(1);
        a = NativeGemm.copyOf(random(rnd, m * k));
        b = NativeGemm.copyOf(random(rnd, k * n));
        c = new FloatPointer((long) m * n);
    }

    @Benchmark
    public FloatPointer sgemm() {
        NativeGemm.gemm(m, n, k, a, k, false, b, n, 0f, c, n);
        return c;
    }

    static float[] random(final SplittableRandom rnd, final int n) {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble() - 0.5);
        }
        return v;
    }
}
