package dev.seqembed.model;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The element-wise kernels of {@link Kernels} at one all-MiniLM-L6-v2 layer's sizes for T = 128 tokens: exact GELU
 * with bias over the FFN activations [128, 1536], bias + residual + LayerNorm over [128, 384], softmax over the
 * attention scores of one head [128, 128]. GELU and softmax work in place, so each call first restores its input
 * (an arraycopy, a small share of the time, measured alone by {@link #copyOnly}). Run with
 * {@code mvn -B -Pjmh -pl processor -am verify}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class KernelsBenchmark {
    static final int TOKENS = 128;
    static final int HIDDEN = 384;
    static final int INTERMEDIATE = 1536;

    private final Kernels.Scratch scratch = new Kernels.Scratch();
    private float[] ffnInput;
    private float[] ffn;
    private float[] ffnBias;
    private float[] y;
    private float[] residual;
    private float[] bias;
    private float[] gamma;
    private float[] beta;
    private float[] normalized;
    private float[] scoresInput;
    private float[] scores;

    @Setup
    public void fill() {
        final SplittableRandom rnd = new SplittableRandom(2);
        ffnInput = scaled(rnd, TOKENS * INTERMEDIATE, 4);
        ffn = new float[ffnInput.length];
        ffnBias = scaled(rnd, INTERMEDIATE, 0.1);
        y = scaled(rnd, TOKENS * HIDDEN, 2);
        residual = scaled(rnd, TOKENS * HIDDEN, 2);
        bias = scaled(rnd, HIDDEN, 0.1);
        gamma = scaled(rnd, HIDDEN, 1);
        beta = scaled(rnd, HIDDEN, 0.1);
        normalized = new float[TOKENS * HIDDEN];
        scoresInput = scaled(rnd, TOKENS * TOKENS, 8);
        scores = new float[scoresInput.length];
    }

    @Benchmark
    public float[] gelu() {
        System.arraycopy(ffnInput, 0, ffn, 0, ffn.length);
        Kernels.biasGelu(ffn, 0, TOKENS, INTERMEDIATE, ffnBias, scratch);
        return ffn;
    }

    @Benchmark
    public float[] layerNorm() {
        Kernels.addLayerNorm(y, bias, residual, normalized, 0, TOKENS, HIDDEN, gamma, beta, 1e-12);
        return normalized;
    }

    @Benchmark
    public float[] softmax() {
        System.arraycopy(scoresInput, 0, scores, 0, scores.length);
        for (int r = 0; r < TOKENS; r++) {
            Kernels.softmax(scores, r * TOKENS, TOKENS, TOKENS, scratch);
        }
        return scores;
    }

    /** The restore step of {@link #gelu} alone, to subtract. */
    @Benchmark
    public float[] copyOnly() {
        System.arraycopy(ffnInput, 0, ffn, 0, ffn.length);
        return ffn;
    }

    private static float[] scaled(final SplittableRandom rnd, final int n, final double scale) {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rnd.nextDouble() - 0.5) * scale);
        }
        return v;
    }
}
