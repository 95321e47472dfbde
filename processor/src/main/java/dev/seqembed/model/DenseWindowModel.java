package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

import dev.seqembed.platform.BlasKernel;

/**
 * The dense window model (SPEC §4.1): each window of W tokens becomes
 * {@code y = fc2(act(fc1(concat_i(E[t_i] * mask_i))))}, optionally L2-normalised.
 * {@link #embedWindows} runs a whole micro-batch as one native sgemm pair (bias and activation in Java).
 * Immutable and thread-safe (scratch is per thread).
 */
public final class DenseWindowModel {
    static {
        BlasKernel.ensureConfigured();
    }

    /** {@code model_type} in config.json. */
    public static final String MODEL_TYPE = "window-mlp";
    public static final String EMBEDDING = "embedding.weight";
    public static final String FC1_WEIGHT = "fc1.weight";
    public static final String FC1_BIAS = "fc1.bias";
    public static final String FC2_WEIGHT = "fc2.weight";
    public static final String FC2_BIAS = "fc2.bias";

    private final WindowMlpConfig config;
    private final String id;
    private final String sha256;
    /** [vocab * d] on the Java heap: the gather that builds x is a copy, not math. */
    private final float[] embedding;
    /** fc1 / fc2 weights pre-transposed [in, out] in native memory for the direct sgemm. */
    private final FloatPointer fc1T;
    private final float[] fc1b;
    private final FloatPointer fc2T;
    private final float[] fc2b;

    private DenseWindowModel(final WindowMlpConfig config, final String id, final String sha256,
                             final float[] embedding, final Tensor fc1w, final Tensor fc1b,
                             final Tensor fc2w, final Tensor fc2b) {
        this.config = config;
        this.id = id;
        this.sha256 = sha256;
        this.embedding = embedding;
        this.fc1T = NativeGemm.transposed(fc1w.data(), fc1w.shape()[0], fc1w.shape()[1]);
        this.fc1b = fc1b.data();
        this.fc2T = NativeGemm.transposed(fc2w.data(), fc2w.shape()[0], fc2w.shape()[1]);
        this.fc2b = fc2b.data();
    }

    /** Loads a model directory (config.json with model_type "window-mlp", model.safetensors). */
    public static DenseWindowModel load(final Path dir) throws IOException {
        final ModelFiles.Loaded f = ModelFiles.load(dir, MODEL_TYPE);
        final WindowMlpConfig c;
        try {
            c = new WindowMlpConfig(f.requireInt("vocab_size"), f.requireInt("embed_dim"), f.requireInt("window"),
                    f.requireInt("stride"), f.requireInt("hidden_size"), f.requireInt("output_size"),
                    f.activation("hidden_act"), f.requireBoolean("normalize"), f.requireInt("pad_token_id"));
        } catch (final IllegalArgumentException e) {
            throw new ModelLoadException(f.configFile() + ": " + e.getMessage(), e);
        }
        final Tensor emb = f.tensor(EMBEDDING, c.vocabSize(), c.embedDim());
        final Tensor w1 = f.tensor(FC1_WEIGHT, c.hiddenSize(), c.inputSize());
        final Tensor b1 = f.tensor(FC1_BIAS, c.hiddenSize());
        final Tensor w2 = f.tensor(FC2_WEIGHT, c.outputSize(), c.hiddenSize());
        final Tensor b2 = f.tensor(FC2_BIAS, c.outputSize());
        BlasKernel.probe();
        Kernels.warmUp();
        return new DenseWindowModel(c, f.id(), f.sha256(), emb.data(), w1, b1, w2, b2);
    }

    public WindowMlpConfig config() {
        return config;
    }

    /** The model directory's file name. */
    public String id() {
        return id;
    }

    /** Hex SHA-256 of model.safetensors. */
    public String sha256() {
        return sha256;
    }

    /**
     * Embeds a batch of windows with one gemm per layer.
     *
     * @param tokens {@code tokens[b]} has length W (padded); only the first {@code valid[b]} ids are read
     * @param valid  non-pad count per window, in [0, W]; positions at or after it have mask 0 whatever
     *               their token id (the mask is position based)
     * @return {@code [batch][O]}
     */
    public float[][] embedWindows(final int[][] tokens, final int[] valid) {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(valid, "valid");
        if (tokens.length != valid.length) {
            throw new IllegalArgumentException("tokens has " + tokens.length + " windows, valid has " + valid.length);
        }
        final int batch = tokens.length;
        if (batch == 0) {
            return new float[0][];
        }
        final int w = config.window();
        final int d = config.embedDim();
        final int vocab = config.vocabSize();
        final float[] x = new float[batch * w * d];
        for (int b = 0; b < batch; b++) {
            final int[] t = tokens[b];
            if (t == null || t.length != w) {
                throw new IllegalArgumentException("window " + b + " must have " + w + " tokens, has "
                        + (t == null ? "null" : t.length));
            }
            final int v = valid[b];
            if (v < 0 || v > w) {
                throw new IllegalArgumentException("window " + b + ": valid " + v + " outside [0, " + w + "]");
            }
            for (int i = 0; i < v; i++) {
                final int id = t[i];
                if (id < 0 || id >= vocab) {
                    throw new IllegalArgumentException("window " + b + ": token id " + id + " at position " + i
                            + " outside [0, " + vocab + ")");
                }
                System.arraycopy(embedding, id * d, x, (b * w + i) * d, d);
            }
        }
        final int in = w * d;
        final int hid = config.hiddenSize();
        final int o = config.outputSize();
        final Workspace ws = Workspace.get();
        final FloatPointer xN = ws.nat(Workspace.N_INPUT, (long) batch * in);
        final FloatPointer hN = ws.nat(Workspace.N_INTERMEDIATE, (long) batch * hid);
        final FloatPointer yN = ws.nat(Workspace.N_OUTPUT, (long) batch * o);
        final float[] hj = ws.arr(Workspace.INTERMEDIATE, batch * hid);
        final float[] yj = ws.arr(Workspace.PROJECTED, batch * o);
        NativeGemm.put(xN, 0, x, batch * in);
        ModelThreads.GEMM.gemm(batch, hid, in, xN, in, false, fc1T, hid, 0f, hN, hid);
        NativeGemm.get(hN, 0, hj, batch * hid);
        Kernels.biasActivate(hj, 0, batch, hid, fc1b, config.hiddenAct(), ws.kernels);
        NativeGemm.put(hN, 0, hj, batch * hid);
        ModelThreads.GEMM.gemm(batch, o, hid, hN, hid, false, fc2T, o, 0f, yN, o);
        NativeGemm.get(yN, 0, yj, batch * o);
        Kernels.addBias(yj, batch, o, fc2b);
        final float[][] out = new float[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = java.util.Arrays.copyOfRange(yj, b * o, (b + 1) * o);
            if (config.normalize()) {
                NdMath.l2Normalize(out[b]);
            }
        }
        return out;
    }

    /** Convenience: one window. */
    public float[] embedWindow(final int[] tokens, final int valid) {
        return embedWindows(new int[][] {tokens}, new int[] {valid})[0];
    }
}
