package dev.seqembed.model;

import java.util.Objects;

/**
 * Configuration of the dense window model (SPEC §4.1, {@code "model_type": "window-mlp"}).
 *
 * @param vocabSize  token ids are in {@code [0, vocabSize)}
 * @param embedDim   d, the token embedding size
 * @param window     W, tokens per window
 * @param stride     S, offset between consecutive windows
 * @param hiddenSize H
 * @param outputSize O, the embedding size
 * @param hiddenAct  activation after fc1
 * @param normalize  L2-normalise the output
 * @param padTokenId token id used to pad the last window
 */
public record WindowMlpConfig(int vocabSize, int embedDim, int window, int stride, int hiddenSize,
                              int outputSize, Activation hiddenAct, boolean normalize, int padTokenId) {

    public WindowMlpConfig {
        positive("vocab_size", vocabSize);
        positive("embed_dim", embedDim);
        positive("window", window);
        positive("stride", stride);
        positive("hidden_size", hiddenSize);
        positive("output_size", outputSize);
        Objects.requireNonNull(hiddenAct, "hidden_act");
        if (padTokenId < 0 || padTokenId >= vocabSize) {
            throw new IllegalArgumentException("pad_token_id " + padTokenId + " outside [0, " + vocabSize + ")");
        }
    }

    private static void positive(final String key, final int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be > 0, got " + value);
        }
    }

    /** Number of windows for a sequence of {@code n >= 1} tokens: 1 if n <= W, else 1 + ceil((n - W) / S). */
    public int windowCount(final int n) {
        if (n < 1) {
            throw new IllegalArgumentException("sequence length must be >= 1, got " + n);
        }
        if (n <= window) {
            return 1;
        }
        return 1 + (int) (((long) n - window + stride - 1) / stride);
    }

    /** Analytic FLOPs of one window (SPEC §6), padding included: 2 * (H*W*d + O*H). */
    public long flopsPerWindow() {
        return 2L * ((long) hiddenSize * window * embedDim + (long) outputSize * hiddenSize);
    }

    /** Input width of fc1: W * d. */
    public int inputSize() {
        return window * embedDim;
    }

    /** Token offset of window {@code k}: k * S. */
    public int windowStart(final int k) {
        return k * stride;
    }

    /** Real (non-pad) tokens in window {@code k} of an n-token sequence. */
    public int windowValid(final int n, final int k) {
        if (k < 0 || k >= windowCount(n)) {
            throw new IllegalArgumentException("window " + k + " outside [0, " + windowCount(n) + ") for n = " + n);
        }
        return Math.min(window, n - windowStart(k));
    }

    /** Window {@code k} of {@code sequence}: tokens[k*S, k*S+W), padded with pad_token_id to length W. */
    public int[] windowTokens(final int[] sequence, final int k) {
        final int valid = windowValid(sequence.length, k);
        final int[] out = new int[window];
        System.arraycopy(sequence, windowStart(k), out, 0, valid);
        java.util.Arrays.fill(out, valid, window, padTokenId);
        return out;
    }
}
