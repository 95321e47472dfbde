package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

import static dev.seqembed.model.BertTensors.ATTENTION_LN;
import static dev.seqembed.model.BertTensors.ATTENTION_OUTPUT;
import static dev.seqembed.model.BertTensors.INTERMEDIATE;
import static dev.seqembed.model.BertTensors.KEY;
import static dev.seqembed.model.BertTensors.OUTPUT;
import static dev.seqembed.model.BertTensors.OUTPUT_LN;
import static dev.seqembed.model.BertTensors.QUERY;
import static dev.seqembed.model.BertTensors.VALUE;

import dev.seqembed.platform.BlasKernel;

/**
 * A Hugging Face BERT encoder (SPEC §4.2): post-LN, token type 0, absolute positions, exact erf GELU,
 * float32 throughout. Two uses: {@link #encode} (one bidirectional forward, pooled) and
 * {@link #appendCausal} (causal attention chunk by chunk against a {@link KvCache}, so each chunk costs
 * only its own tokens' projections plus attention to the prefix).
 *
 * <p>Every projection is one native sgemm over all tokens of the call; attention runs per head on strided views.
 * Immutable after load and thread-safe: calls share only the read-only weights.
 */
public final class BertModel {
    static {
        BlasKernel.ensureConfigured();
    }

    /** {@code model_type} in config.json. */
    public static final String MODEL_TYPE = "bert";

    /**
     * One encoder layer: gemm weights pre-transposed [in, out] in native memory, vectors on the heap.
     * The query part of qkvT and qkvB carries the 1/sqrt(dh) attention scale.
     */
    private record Layer(FloatPointer qkvT, float[] qkvB, FloatPointer outT, float[] outB, float[] ln1G,
                         float[] ln1B, FloatPointer interT, float[] interB, FloatPointer ffnT, float[] ffnB,
                         float[] ln2G, float[] ln2B) {
    }

    private final BertConfig config;
    private final String id;
    private final String sha256;
    private final float[] wordEmbeddings;
    /** position_embeddings[p] + token_type_embeddings[0], precomputed. */
    private final float[] positionAndType;
    private final float[] embLnG;
    private final float[] embLnB;
    private final Layer[] layers;

    private BertModel(final BertConfig config, final String id, final String sha256, final float[] word,
                      final float[] positionAndType, final float[] embLnG, final float[] embLnB,
                      final Layer[] layers) {
        this.config = config;
        this.id = id;
        this.sha256 = sha256;
        this.wordEmbeddings = word;
        this.positionAndType = positionAndType;
        this.embLnG = embLnG;
        this.embLnB = embLnB;
        this.layers = layers;
    }

    /**
     * Loads a Hugging Face BERT directory. Tensor names may carry a {@code bert.} prefix; pooler and other
     * unknown tensors are ignored; every expected tensor's shape is checked.
     */
    public static BertModel load(final Path dir) throws IOException {
        final ModelFiles.Loaded f = ModelFiles.load(dir, MODEL_TYPE);
        final BertConfig c;
        try {
            c = new BertConfig(f.requireInt("vocab_size"), f.requireInt("hidden_size"),
                    f.requireInt("num_hidden_layers"), f.requireInt("num_attention_heads"),
                    f.requireInt("intermediate_size"), f.activation("hidden_act"),
                    f.requireInt("max_position_embeddings"),
                    f.config().has("type_vocab_size") ? f.requireInt("type_vocab_size") : 2,
                    (float) f.optionalDouble("layer_norm_eps", BertConfig.DEFAULT_LAYER_NORM_EPS));
        } catch (final IllegalArgumentException e) {
            throw new ModelLoadException(f.configFile() + ": " + e.getMessage(), e);
        }
        final String p = f.tensors().names().contains(BertTensors.PREFIX + BertTensors.WORD_EMBEDDINGS)
                ? BertTensors.PREFIX : "";
        final int h = c.hiddenSize();
        final int inter = c.intermediateSize();
        final Tensor word = f.tensor(p + BertTensors.WORD_EMBEDDINGS, c.vocabSize(), h);
        final Tensor pos = f.tensor(p + BertTensors.POSITION_EMBEDDINGS, c.maxPositionEmbeddings(), h);
        final Tensor type = f.tensor(p + BertTensors.TOKEN_TYPE_EMBEDDINGS, c.typeVocabSize(), h);
        final Tensor embG = f.tensor(p + BertTensors.EMBEDDINGS_LN_WEIGHT, h);
        final Tensor embB = f.tensor(p + BertTensors.EMBEDDINGS_LN_BIAS, h);
        // Check every tensor before building any native array: a bad checkpoint fails fast and cheaply.
        final Tensor[][] raw = new Tensor[c.numHiddenLayers()][];
        for (int l = 0; l < raw.length; l++) {
            raw[l] = new Tensor[] {
                f.tensor(p + BertTensors.layer(l, QUERY + ".weight"), h, h),
                f.tensor(p + BertTensors.layer(l, QUERY + ".bias"), h),
                f.tensor(p + BertTensors.layer(l, KEY + ".weight"), h, h),
                f.tensor(p + BertTensors.layer(l, KEY + ".bias"), h),
                f.tensor(p + BertTensors.layer(l, VALUE + ".weight"), h, h),
                f.tensor(p + BertTensors.layer(l, VALUE + ".bias"), h),
                f.tensor(p + BertTensors.layer(l, ATTENTION_OUTPUT + ".weight"), h, h),
                f.tensor(p + BertTensors.layer(l, ATTENTION_OUTPUT + ".bias"), h),
                f.tensor(p + BertTensors.layer(l, ATTENTION_LN + ".weight"), h),
                f.tensor(p + BertTensors.layer(l, ATTENTION_LN + ".bias"), h),
                f.tensor(p + BertTensors.layer(l, INTERMEDIATE + ".weight"), inter, h),
                f.tensor(p + BertTensors.layer(l, INTERMEDIATE + ".bias"), inter),
                f.tensor(p + BertTensors.layer(l, OUTPUT + ".weight"), h, inter),
                f.tensor(p + BertTensors.layer(l, OUTPUT + ".bias"), h),
                f.tensor(p + BertTensors.layer(l, OUTPUT_LN + ".weight"), h),
                f.tensor(p + BertTensors.layer(l, OUTPUT_LN + ".bias"), h),
            };
        }
        BlasKernel.probe();
        final float[] posType = new float[c.maxPositionEmbeddings() * h];
        for (int i = 0; i < posType.length; i++) {
            posType[i] = pos.data()[i] + type.data()[i % h];
        }
        // 1/sqrt(dh) folded into the query projection: one op less per layer.
        final float scale = (float) (1.0 / Math.sqrt(c.headSize()));
        final Layer[] layers = new Layer[raw.length];
        for (int l = 0; l < raw.length; l++) {
            final Tensor[] t = raw[l];
            // Q, K and V as one [3h, h] weight: one gemm for the three projections.
            final float[] qkvW = new float[3 * h * h];
            final float[] qkvB = new float[3 * h];
            for (int i = 0; i < h * h; i++) {
                qkvW[i] = t[0].data()[i] * scale;
            }
            System.arraycopy(t[2].data(), 0, qkvW, h * h, h * h);
            System.arraycopy(t[4].data(), 0, qkvW, 2 * h * h, h * h);
            for (int i = 0; i < h; i++) {
                qkvB[i] = t[1].data()[i] * scale;
            }
            System.arraycopy(t[3].data(), 0, qkvB, h, h);
            System.arraycopy(t[5].data(), 0, qkvB, 2 * h, h);
            layers[l] = new Layer(NativeGemm.transposed(qkvW, 3 * h, h), qkvB,
                    NativeGemm.transposed(t[6].data(), h, h), t[7].data(),
                    t[8].data(), t[9].data(),
                    NativeGemm.transposed(t[10].data(), inter, h), t[11].data(),
                    NativeGemm.transposed(t[12].data(), h, inter), t[13].data(),
                    t[14].data(), t[15].data());
        }
        return new BertModel(c, f.id(), f.sha256(), word.data(), posType, embG.data(), embB.data(), layers);
    }

    public BertConfig config() {
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

    /** An empty cache for {@link #appendCausal}. */
    public KvCache newCache() {
        return new KvCache(config.numHiddenLayers(), config.hiddenSize());
    }

    /** Encoder mode: one bidirectional forward over all tokens, pooled, optionally L2-normalised. */
    public float[] encode(final int[] tokens, final Pooling pooling, final boolean normalize) {
        checkTokens(tokens, 0);
        Objects.requireNonNull(pooling, "pooling");
        final int h = config.hiddenSize();
        final float[] x = forward(tokens, 0, null, false);
        final float[] v = pooling == Pooling.CLS ? Arrays.copyOf(x, h) : Kernels.meanRows(x, tokens.length, h);
        return normalize ? NdMath.l2Normalize(v) : v;
    }

    /**
     * Causal streaming: runs {@code chunk} at positions {@code cache.length()...} against the cached keys and
     * values, appends its own to {@code cache} and updates the pooling state. Returns the pooled embedding of
     * the whole prefix, equal to float rounding to a full causal forward over it. The cache is unchanged if
     * this throws.
     */
    public float[] appendCausal(final KvCache cache, final int[] chunk, final Pooling pooling,
                                final boolean normalize) {
        Objects.requireNonNull(cache, "cache");
        Objects.requireNonNull(pooling, "pooling");
        if (cache.layers() != config.numHiddenLayers() || cache.hidden() != config.hiddenSize()) {
            throw new IllegalArgumentException("cache is for " + cache.layers() + " layers x " + cache.hidden()
                    + " hidden, model has " + config.numHiddenLayers() + " x " + config.hiddenSize());
        }
        checkTokens(chunk, cache.length());
        final int h = config.hiddenSize();
        final int m = chunk.length;
        final float[] out = forward(chunk, cache.length(), cache, true);
        final double[] chunkSum = new double[h];
        for (int r = 0; r < m; r++) {
            for (int j = 0; j < h; j++) {
                chunkSum[j] += out[r * h + j];
            }
        }
        cache.commit(m, chunkSum, Arrays.copyOf(out, h));
        return pooled(cache, pooling, normalize);
    }

    /**
     * The pooled embedding of everything the cache holds, without computing anything: what an empty closing
     * chunk (or one truncated to nothing) of a causal sequence yields.
     */
    public float[] pooled(final KvCache cache, final Pooling pooling, final boolean normalize) {
        if (cache.length() == 0) {
            throw new IllegalArgumentException("the cache holds no tokens yet");
        }
        final int h = config.hiddenSize();
        final float[] v = new float[h];
        if (pooling == Pooling.CLS) {
            System.arraycopy(cache.firstToken(), 0, v, 0, h);
        } else {
            final float[] sum = cache.pooledSum();
            for (int j = 0; j < h; j++) {
                v[j] = sum[j] / cache.length();
            }
        }
        return normalize ? NdMath.l2Normalize(v) : v;
    }

    /** Final hidden states [n][hidden] of a full forward from position 0, causal or bidirectional. */
    public float[][] hiddenStates(final int[] tokens, final boolean causal) {
        checkTokens(tokens, 0);
        final int h = config.hiddenSize();
        final float[] x = forward(tokens, 0, null, causal);
        final float[][] out = new float[tokens.length][];
        for (int r = 0; r < out.length; r++) {
            out[r] = Arrays.copyOfRange(x, r * h, (r + 1) * h);
        }
        return out;
    }

    private void checkTokens(final int[] tokens, final int start) {
        Objects.requireNonNull(tokens, "tokens");
        if (tokens.length == 0) {
            throw new IllegalArgumentException("empty token sequence");
        }
        if ((long) start + tokens.length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence of " + ((long) start + tokens.length)
                    + " tokens exceeds max_position_embeddings " + config.maxPositionEmbeddings());
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[i] + " at position " + (start + i)
                        + " outside [0, " + config.vocabSize() + ")");
            }
        }
    }

    /**
     * The encoder stack over {@code tokens} at positions {@code start..}: returns the final hidden states
     * [m * hidden] row-major. With a cache, keys/values of earlier positions come from it and this chunk's
     * are staged into it (the caller commits).
     *
     * <p>Every projection is one native sgemm over all m tokens (the QKV bias is pre-filled into the output,
     * beta = 1); the other biases, residuals, LayerNorms and GELU are Java loops over the copied-back
     * result. Attention runs per head on strided views of the QKV result (or of the cached keys/values):
     * scores = Q_h K_h^T, a softmax over only the keys the query may see (causal: positions <= its own),
     * then ctx_h = P V_h written straight into its columns of ctx.
     */
    private float[] forward(final int[] tokens, final int start, final KvCache cache, final boolean causal) {
        final int m = tokens.length;
        final int h = config.hiddenSize();
        final int h3 = 3 * h;
        final int inter = config.intermediateSize();
        final int heads = config.numAttentionHeads();
        final int dh = config.headSize();
        final int c = start + m;
        final double eps = config.layerNormEps();
        final Workspace ws = Workspace.get();
        final FloatPointer xN = ws.nat(0, (long) m * h);
        final FloatPointer qkvN = ws.nat(1, (long) m * h3);
        final FloatPointer sN = ws.nat(2, (long) m * c);
        final FloatPointer ctxN = ws.nat(3, (long) m * h);
        final FloatPointer midN = ws.nat(4, (long) m * inter);
        final FloatPointer yN = ws.nat(5, (long) m * h);
        final boolean cachedKv = cache != null && start > 0;
        final FloatPointer kvN = cachedKv ? ws.nat(6, 2L * c * h) : null;
        final float[] s = ws.arr(0, m * c);
        final float[] mid = ws.arr(1, m * inter);
        final float[] y = ws.arr(2, m * h);
        final float[] a = ws.arr(3, m * h);
        final Kernels.Scratch tmp = ws.kernels;
        final float[] qkv = cache != null ? ws.arr(5, m * h3) : null;
        final float[] x = ws.arr(6, m * h);
        for (int r = 0; r < m; r++) {
            final int w = tokens[r] * h;
            final int p = (start + r) * h;
            for (int j = 0; j < h; j++) {
                x[r * h + j] = wordEmbeddings[w + j] + positionAndType[p + j];
            }
        }
        Kernels.addLayerNorm(x, null, null, x, m, h, embLnG, embLnB, eps);
        for (int l = 0; l < layers.length; l++) {
            final Layer layer = layers[l];
            NativeGemm.put(xN, 0, x, m * h);
            NativeGemm.fillRows(qkvN, layer.qkvB(), m);
            NativeGemm.gemm(m, h3, h, xN, h, false, layer.qkvT(), h3, 1f, qkvN, h3);
            // keys/values: rows of the QKV result, or (after a cached prefix) the cache's first c rows
            FloatPointer kBase = NativeGemm.at(qkvN, h);
            FloatPointer vBase = NativeGemm.at(qkvN, 2 * h);
            int kvLd = h3;
            if (cache != null) {
                NativeGemm.get(qkvN, 0, qkv, m * h3);
                final float[] newK = new float[m * h];
                final float[] newV = new float[m * h];
                for (int r = 0; r < m; r++) {
                    System.arraycopy(qkv, r * h3 + h, newK, r * h, h);
                    System.arraycopy(qkv, r * h3 + 2 * h, newV, r * h, h);
                }
                cache.stage(l, newK, newV, m);
                if (cachedKv) {
                    NativeGemm.put(kvN, 0, cache.keys(l), c * h);
                    NativeGemm.put(kvN, (long) c * h, cache.values(l), c * h);
                    kBase = kvN;
                    vBase = NativeGemm.at(kvN, (long) c * h);
                    kvLd = h;
                }
            }
            for (int hd = 0; hd < heads; hd++) {
                final int off = hd * dh;
                NativeGemm.gemm(m, c, dh, NativeGemm.at(qkvN, off), h3, true, NativeGemm.at(kBase, off), kvLd,
                        0f, sN, c);
                NativeGemm.get(sN, 0, s, m * c);
                for (int r = 0; r < m; r++) {
                    Kernels.softmax(s, r * c, causal ? start + r + 1 : c, c, tmp);
                }
                NativeGemm.put(sN, 0, s, m * c);
                NativeGemm.gemm(m, dh, c, sN, c, false, NativeGemm.at(vBase, off), kvLd, 0f,
                        NativeGemm.at(ctxN, off), h);
            }
            NativeGemm.gemm(m, h, h, ctxN, h, false, layer.outT(), h, 0f, yN, h);
            NativeGemm.get(yN, 0, y, m * h);
            Kernels.addLayerNorm(y, layer.outB(), x, a, m, h, layer.ln1G(), layer.ln1B(), eps);
            NativeGemm.put(xN, 0, a, m * h);
            NativeGemm.gemm(m, inter, h, xN, h, false, layer.interT(), inter, 0f, midN, inter);
            NativeGemm.get(midN, 0, mid, m * inter);
            Kernels.biasActivate(mid, m, inter, layer.interB(), config.hiddenAct(), tmp);
            NativeGemm.put(midN, 0, mid, m * inter);
            NativeGemm.gemm(m, h, inter, midN, inter, false, layer.ffnT(), h, 0f, yN, h);
            NativeGemm.get(yN, 0, y, m * h);
            Kernels.addLayerNorm(y, layer.ffnB(), a, x, m, h, layer.ln2G(), layer.ln2B(), eps);
        }
        return Arrays.copyOf(x, m * h);
    }
}
