package dev.seqembed.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

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

/**
 * A Hugging Face BERT encoder (SPEC §4.2): post-LN, token type 0, absolute positions, exact erf GELU,
 * float32 throughout. Two uses: {@link #encode} (one bidirectional forward, pooled) and
 * {@link #appendCausal} (causal attention chunk by chunk against a {@link KvCache}, so each chunk costs
 * only its own tokens' projections plus attention to the prefix).
 *
 * <p>Every projection is one gemm over all tokens of the call; attention is a batched gemm over heads.
 * Immutable after load and thread-safe: calls share only the read-only weights.
 */
public final class BertModel {
    static {
        BlasKernel.ensureConfigured();
    }

    /** {@code model_type} in config.json. */
    public static final String MODEL_TYPE = "bert";

    /** One encoder layer's weights, pre-transposed for x.mmul(w). */
    private record Layer(INDArray qkvT, INDArray qkvB, INDArray outT, INDArray outB, INDArray ln1G, INDArray ln1B,
                         INDArray interT, INDArray interB, INDArray ffnT, INDArray ffnB, INDArray ln2G, INDArray ln2B) {
    }

    private final BertConfig config;
    private final String id;
    private final String sha256;
    private final float[] wordEmbeddings;
    /** position_embeddings[p] + token_type_embeddings[0], precomputed. */
    private final float[] positionAndType;
    private final INDArray embLnG;
    private final INDArray embLnB;
    private final Layer[] layers;

    private BertModel(final BertConfig config, final String id, final String sha256, final float[] word,
                      final float[] positionAndType, final INDArray embLnG, final INDArray embLnB,
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
            layers[l] = new Layer(NdMath.transposed(qkvW, 3 * h, h), NdMath.row(qkvB),
                    NdMath.transposed(t[6]), NdMath.row(t[7].data()),
                    NdMath.row(t[8].data()), NdMath.row(t[9].data()),
                    NdMath.transposed(t[10]), NdMath.row(t[11].data()),
                    NdMath.transposed(t[12]), NdMath.row(t[13].data()),
                    NdMath.row(t[14].data()), NdMath.row(t[15].data()));
        }
        return new BertModel(c, f.id(), f.sha256(), word.data(), posType,
                NdMath.row(embG.data()), NdMath.row(embB.data()), layers);
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
        final INDArray x = forward(tokens, 0, null, false);
        final float[] v;
        if (pooling == Pooling.CLS) {
            v = NdMath.data(x.getRow(0));
        } else {
            final INDArray mean = x.mean(0);
            v = NdMath.data(mean);
            NdMath.close(mean);
        }
        NdMath.close(x);
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
        final INDArray x = forward(chunk, cache.length(), cache, true);
        final float[] out = NdMath.data(x);
        NdMath.close(x);
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
        final INDArray x = forward(tokens, 0, null, causal);
        final float[][] out = x.toFloatMatrix();
        NdMath.close(x);
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
     * The encoder stack over {@code tokens} at positions {@code start..}. With a cache, keys/values of earlier
     * positions come from it and this chunk's are staged into it (the caller commits).
     */
    private INDArray forward(final int[] tokens, final int start, final KvCache cache, final boolean causal) {
        final int m = tokens.length;
        final int h = config.hiddenSize();
        final float[] e = new float[m * h];
        for (int r = 0; r < m; r++) {
            final int w = tokens[r] * h;
            final int p = (start + r) * h;
            for (int j = 0; j < h; j++) {
                e[r * h + j] = wordEmbeddings[w + j] + positionAndType[p + j];
            }
        }
        INDArray x = NdMath.layerNorm(NdMath.matrix(e, m, h), embLnG, embLnB, config.layerNormEps());
        final int c = start + m;
        for (int l = 0; l < layers.length; l++) {
            final Layer layer = layers[l];
            final INDArray qkv = NdMath.linear(x, layer.qkvT(), layer.qkvB());
            final INDArray q = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h));
            final INDArray k = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(h, 2 * h));
            final INDArray v = qkv.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * h, 3 * h));
            INDArray kAll = k;
            INDArray vAll = v;
            if (cache != null) {
                cache.stage(l, NdMath.data(k), NdMath.data(v), m);
                if (start > 0) {
                    kAll = NdMath.matrix(Arrays.copyOf(cache.keys(l), c * h), c, h);
                    vAll = NdMath.matrix(Arrays.copyOf(cache.values(l), c * h), c, h);
                }
            }
            final INDArray ctx = attention(q, kAll, vAll, m, c, start, causal);
            NdMath.close(qkv, kAll, vAll);
            final INDArray a = NdMath.linearConsuming(ctx, layer.outT(), layer.outB()).addi(x);
            NdMath.close(x);
            NdMath.layerNorm(a, layer.ln1G(), layer.ln1B(), config.layerNormEps());
            final INDArray mid = NdMath.activate(NdMath.linear(a, layer.interT(), layer.interB()), config.hiddenAct());
            x = NdMath.linearConsuming(mid, layer.ffnT(), layer.ffnB()).addi(a);
            NdMath.close(a);
            NdMath.layerNorm(x, layer.ln2G(), layer.ln2B(), config.layerNormEps());
        }
        return x;
    }

    /**
     * Multi-head attention of m queries (absolute positions start..start+m-1) over c keys (positions 0..c-1),
     * as batched gemms over heads: softmax(Q K^T + M) V, scale already in Q. Returns a new [m, h] array.
     */
    private INDArray attention(final INDArray q, final INDArray k, final INDArray v, final int m, final int c,
                               final int start, final boolean causal) {
        final int heads = config.numAttentionHeads();
        final int dh = config.headSize();
        final int h = config.hiddenSize();
        final INDArray qc = contiguous(q);
        final INDArray kc = contiguous(k);
        final INDArray vc = contiguous(v);
        final INDArray q3 = qc.reshape('c', m, heads, dh).permute(1, 0, 2);        // [heads, m, dh]
        final INDArray kT3 = kc.reshape('c', c, heads, dh).permute(1, 2, 0);       // [heads, dh, c]
        final INDArray v3 = vc.reshape('c', c, heads, dh).permute(1, 0, 2);        // [heads, c, dh]
        final INDArray scores3 = Nd4j.matmul(q3, kT3);                             // [heads, m, c]
        final INDArray scores = scores3.reshape('c', (long) heads * m, c);        // [heads*m, c]
        if (causal && m > 1) {
            final INDArray mask = causalMask(heads, m, c, start);
            scores.addi(mask);
            NdMath.close(mask);
        }
        NdMath.softmaxRows(scores);
        final INDArray probs3 = scores.reshape('c', heads, m, c);
        final INDArray ctx3 = Nd4j.matmul(probs3, v3);                             // [heads, m, dh]
        final INDArray ctx = ctx3.permute(1, 0, 2).dup('c');                        // [m, heads, dh]
        // Only base arrays are closed: reshapes of fresh 'c' arrays share their buffer.
        NdMath.close(qc, kc, vc, scores3, ctx3);
        return ctx.reshape('c', m, h);
    }

    /** The array itself if it is a dense 'c' matrix (e.g. keys built from the cache), else a 'c' copy. */
    private static INDArray contiguous(final INDArray x) {
        return !x.isView() && x.ordering() == 'c' ? x : x.dup('c');
    }

    /** -inf where key position j is after the query's absolute position start + r, repeated per head. */
    private static INDArray causalMask(final int heads, final int m, final int c, final int start) {
        final float[] mask = new float[heads * m * c];
        for (int r = 0; r < m; r++) {
            final int from = r * c + start + r + 1;
            Arrays.fill(mask, from, (r + 1) * c, Float.NEGATIVE_INFINITY);
        }
        for (int hh = 1; hh < heads; hh++) {
            System.arraycopy(mask, 0, mask, hh * m * c, m * c);
        }
        return NdMath.matrix(mask, heads * m, c);
    }
}
