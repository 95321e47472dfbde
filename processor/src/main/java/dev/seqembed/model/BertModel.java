package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
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
 * float32 throughout. Two uses: {@link #encodeBatch} (bidirectional forwards, pooled) and
 * {@link #appendCausalBatch} (causal attention chunk by chunk against each sequence's {@link KvCache}, so a
 * chunk costs only its own tokens' projections plus attention to its prefix).
 *
 * <p>Several sequences go through one <em>packed</em> forward: their tokens are stacked into one matrix, so
 * every per-token projection is one native sgemm over all rows of all sequences (bigger GEMMs run closer to
 * the machine's peak), while attention runs per sequence and head on strided views (no padding, no
 * cross-sequence attention). Immutable after load and thread-safe: calls share only the read-only weights.
 */
public final class BertModel {
    static {
        BlasKernel.ensureConfigured();
    }

    private static final RowParallel ROWS = ModelThreads.ROWS;
    private static final ParallelGemm GEMM = ModelThreads.GEMM;
    /** Below this many multiply-adds of a layer's attention, its heads stay on the calling thread. */
    private static final long HEAD_SPLIT_MACS = 1L << 20;
    /** Query rows per block of a causal head ({@link #attendHead}). */
    private static final int CAUSAL_BLOCK_ROWS = 64;

    /** Why an empty chunk cannot be pooled when its sequence has no tokens yet. */
    public static final String EMPTY_CACHE = "the cache holds no tokens yet";

    /** {@code model_type} in config.json. */
    public static final String MODEL_TYPE = "bert";

    /** An nn.Linear: the weight pre-transposed to [in, out] in native memory, the bias on the heap. */
    private record Linear(FloatPointer weightT, float[] bias, int in, int out) {
        static Linear of(final float[] weight, final float[] bias, final int out, final int in) {
            return new Linear(NativeGemm.transposed(weight, out, in), bias, in, out);
        }
    }

    /** LayerNorm parameters. */
    private record Norm(float[] gamma, float[] beta) {
    }

    /**
     * One encoder layer. Q, K and V are one [3h, h] projection (one gemm for the three); the query part
     * carries the 1/sqrt(dh) attention scale, which saves a pass over the scores.
     */
    private record Layer(Linear qkv, Linear attentionOutput, Norm attentionNorm, Linear intermediate,
                         Linear output, Norm outputNorm) {
    }

    /** A linear module's tensors as read from the checkpoint (shape-checked). */
    private record LinearTensors(Tensor weight, Tensor bias) {
        static LinearTensors read(final ModelFiles.Loaded f, final String name, final int out, final int in)
                throws ModelLoadException {
            return new LinearTensors(f.tensor(name + ".weight", out, in), f.tensor(name + ".bias", out));
        }
    }

    /** A LayerNorm's tensors as read from the checkpoint. */
    private record NormTensors(Tensor weight, Tensor bias) {
        static NormTensors read(final ModelFiles.Loaded f, final String name, final int h) throws ModelLoadException {
            return new NormTensors(f.tensor(name + ".weight", h), f.tensor(name + ".bias", h));
        }

        Norm norm() {
            return new Norm(weight.data(), bias.data());
        }
    }

    /** One layer's tensors by their Hugging Face module names. */
    private record LayerTensors(LinearTensors query, LinearTensors key, LinearTensors value,
                                LinearTensors attentionOutput, NormTensors attentionNorm,
                                LinearTensors intermediate, LinearTensors output, NormTensors outputNorm) {
        static LayerTensors read(final ModelFiles.Loaded f, final String prefix, final int l, final BertConfig c)
                throws ModelLoadException {
            final int h = c.hiddenSize();
            final int i = c.intermediateSize();
            return new LayerTensors(
                    LinearTensors.read(f, prefix + BertTensors.layer(l, QUERY), h, h),
                    LinearTensors.read(f, prefix + BertTensors.layer(l, KEY), h, h),
                    LinearTensors.read(f, prefix + BertTensors.layer(l, VALUE), h, h),
                    LinearTensors.read(f, prefix + BertTensors.layer(l, ATTENTION_OUTPUT), h, h),
                    NormTensors.read(f, prefix + BertTensors.layer(l, ATTENTION_LN), h),
                    LinearTensors.read(f, prefix + BertTensors.layer(l, INTERMEDIATE), i, h),
                    LinearTensors.read(f, prefix + BertTensors.layer(l, OUTPUT), h, i),
                    NormTensors.read(f, prefix + BertTensors.layer(l, OUTPUT_LN), h));
        }

        Layer build(final int h, final float scale) {
            final float[] qkvW = new float[3 * h * h];
            final float[] qkvB = new float[3 * h];
            final float[] qW = query.weight().data();
            final float[] qB = query.bias().data();
            for (int j = 0; j < h * h; j++) {
                qkvW[j] = qW[j] * scale;
            }
            for (int j = 0; j < h; j++) {
                qkvB[j] = qB[j] * scale;
            }
            System.arraycopy(key.weight().data(), 0, qkvW, h * h, h * h);
            System.arraycopy(value.weight().data(), 0, qkvW, 2 * h * h, h * h);
            System.arraycopy(key.bias().data(), 0, qkvB, h, h);
            System.arraycopy(value.bias().data(), 0, qkvB, 2 * h, h);
            final int i = intermediate.bias().data().length;
            return new Layer(Linear.of(qkvW, qkvB, 3 * h, h),
                    Linear.of(attentionOutput.weight().data(), attentionOutput.bias().data(), h, h),
                    attentionNorm.norm(),
                    Linear.of(intermediate.weight().data(), intermediate.bias().data(), i, h),
                    Linear.of(output.weight().data(), output.bias().data(), h, i),
                    outputNorm.norm());
        }
    }

    /**
     * One sequence's part of a packed forward: its tokens at positions {@code start..}, its first row in the
     * packed matrices, and (causal streaming) its cache, whose keys/values cover positions before start.
     */
    private record Segment(int[] tokens, int start, int row, KvCache cache) {
        int rows() {
            return tokens.length;
        }

        /** Keys this segment's queries attend over: the cached prefix plus its own tokens. */
        int context() {
            return start + tokens.length;
        }
    }

    private final BertConfig config;
    private final String id;
    private final String sha256;
    private final float[] wordEmbeddings;
    /** position_embeddings[p] + token_type_embeddings[0], precomputed. */
    private final float[] positionAndType;
    private final Norm embeddingNorm;
    private final Layer[] layers;

    private BertModel(final BertConfig config, final String id, final String sha256, final float[] word,
                      final float[] positionAndType, final Norm embeddingNorm, final Layer[] layers) {
        this.config = config;
        this.id = id;
        this.sha256 = sha256;
        this.wordEmbeddings = word;
        this.positionAndType = positionAndType;
        this.embeddingNorm = embeddingNorm;
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
        final Tensor word = f.tensor(p + BertTensors.WORD_EMBEDDINGS, c.vocabSize(), h);
        final Tensor pos = f.tensor(p + BertTensors.POSITION_EMBEDDINGS, c.maxPositionEmbeddings(), h);
        final Tensor type = f.tensor(p + BertTensors.TOKEN_TYPE_EMBEDDINGS, c.typeVocabSize(), h);
        final Tensor embG = f.tensor(p + BertTensors.EMBEDDINGS_LN_WEIGHT, h);
        final Tensor embB = f.tensor(p + BertTensors.EMBEDDINGS_LN_BIAS, h);
        // Check every tensor before building any native array: a bad checkpoint fails fast and cheaply.
        final LayerTensors[] raw = new LayerTensors[c.numHiddenLayers()];
        for (int l = 0; l < raw.length; l++) {
            raw[l] = LayerTensors.read(f, p, l, c);
        }
        final float[] posType = new float[c.maxPositionEmbeddings() * h];
        for (int i = 0; i < posType.length; i++) {
            posType[i] = pos.data()[i] + type.data()[i % h];
        }
        final float scale = (float) (1.0 / Math.sqrt(c.headSize()));
        final Layer[] layers = new Layer[raw.length];
        for (int l = 0; l < raw.length; l++) {
            layers[l] = raw[l].build(h, scale);
        }
        BlasKernel.probe();
        Kernels.warmUp();
        return new BertModel(c, f.id(), f.sha256(), word.data(), posType, new Norm(embG.data(), embB.data()),
                layers);
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

    /** An empty cache for {@link #appendCausal}, stamped with this model's SHA-256. */
    public KvCache newCache() {
        return new KvCache(config.numHiddenLayers(), config.hiddenSize(), sha256);
    }

    /** Encoder mode: one bidirectional forward over all tokens, pooled, optionally L2-normalised. */
    public float[] encode(final int[] tokens, final Pooling pooling, final boolean normalize) {
        return encodeBatch(new int[][] {tokens}, pooling, normalize)[0];
    }

    /**
     * Encoder mode for several sequences in one packed forward: element k is exactly what
     * {@link #encode} gives for {@code sequences[k]} up to float rounding of the larger GEMMs.
     */
    public float[][] encodeBatch(final int[][] sequences, final Pooling pooling, final boolean normalize) {
        Objects.requireNonNull(pooling, "pooling");
        final Segment[] segments = new Segment[sequences.length];
        int row = 0;
        for (int k = 0; k < sequences.length; k++) {
            checkTokens(sequences[k], 0);
            segments[k] = new Segment(sequences[k], 0, row, null);
            row += sequences[k].length;
        }
        final float[] x = forward(segments, row, false);
        final int h = config.hiddenSize();
        final float[][] out = new float[segments.length][];
        for (int k = 0; k < segments.length; k++) {
            final Segment s = segments[k];
            final float[] v = pooling == Pooling.CLS ? Arrays.copyOfRange(x, s.row() * h, (s.row() + 1) * h)
                    : Kernels.meanRows(x, s.row(), s.rows(), h);
            out[k] = normalize ? NdMath.l2Normalize(v) : v;
        }
        return out;
    }

    /**
     * Causal streaming: runs {@code chunk} at positions {@code cache.length()...} against the cached keys and
     * values, appends its own to {@code cache} and updates the pooling state. Returns the pooled embedding of
     * the whole prefix, equal to float rounding to a full causal forward over it; an empty chunk computes nothing
     * and returns that of the prefix so far. The cache is unchanged if this throws.
     */
    public float[] appendCausal(final KvCache cache, final int[] chunk, final Pooling pooling,
                                final boolean normalize) {
        return appendCausalBatch(new KvCache[] {cache}, new int[][] {chunk}, pooling, normalize)[0];
    }

    /**
     * {@link #appendCausal} for chunks of several sequences in one packed forward; element k of the result is the
     * embedding after {@code chunks[k]}. Entries with the same cache are chunks of one sequence in order: they go
     * into the forward as one segment (attention is causal, so a chunk's rows see exactly what they would see
     * one chunk after another; equal to float rounding), each getting the embedding of the prefix up to its own
     * end. An empty chunk computes nothing and yields the embedding so far (there must be tokens by then). No
     * cache changes unless the whole batch succeeds.
     */
    public float[][] appendCausalBatch(final KvCache[] caches, final int[][] chunks, final Pooling pooling,
                                       final boolean normalize) {
        Objects.requireNonNull(pooling, "pooling");
        if (caches.length != chunks.length) {
            throw new IllegalArgumentException(caches.length + " caches for " + chunks.length + " chunks");
        }
        // Each cache's entries, in order: one segment per cache.
        final Map<KvCache, List<Integer>> entries = new IdentityHashMap<>();
        final List<KvCache> order = new ArrayList<>();
        for (int k = 0; k < chunks.length; k++) {
            final KvCache cache = Objects.requireNonNull(caches[k], "cache");
            Objects.requireNonNull(chunks[k], "tokens");
            entries.computeIfAbsent(cache, c -> {
                checkCache(c);
                order.add(c);
                return new ArrayList<>();
            }).add(k);
        }
        final List<Segment> segments = new ArrayList<>();
        int row = 0;
        for (final KvCache cache : order) {
            final List<Integer> mine = entries.get(cache);
            int length = cache.length();
            for (final int k : mine) {
                if (chunks[k].length == 0 && length == 0) {
                    throw new IllegalArgumentException(EMPTY_CACHE);
                }
                length += chunks[k].length;
            }
            final int rows = length - cache.length();
            if (rows > 0) {
                final int[] tokens = new int[rows];
                int at = 0;
                for (final int k : mine) {
                    System.arraycopy(chunks[k], 0, tokens, at, chunks[k].length);
                    at += chunks[k].length;
                }
                checkTokens(tokens, cache.length());
                segments.add(new Segment(tokens, cache.length(), row, cache));
                row += rows;
            }
        }
        final float[] x = row == 0 ? new float[0] : forward(segments.toArray(new Segment[0]), row, true);
        final int h = config.hiddenSize();
        final float[][] out = new float[chunks.length][];
        // The segments' rows follow one another in cache order, so the entries' rows follow in the same order.
        int r = 0;
        for (final KvCache cache : order) {
            // Chunk by chunk, as appendCausal would have folded them into the pooling state.
            for (final int k : entries.get(cache)) {
                final int n = chunks[k].length;
                final double[] chunkSum = new double[h];
                for (int i = r; i < r + n; i++) {
                    for (int j = 0; j < h; j++) {
                        chunkSum[j] += x[i * h + j];
                    }
                }
                cache.commit(n, chunkSum, n == 0 ? null : Arrays.copyOfRange(x, r * h, (r + 1) * h));
                out[k] = pooled(cache, pooling, normalize);
                r += n;
            }
        }
        return out;
    }

    /** A cache this model can extend: its shape, and the model that built it. */
    private void checkCache(final KvCache cache) {
        if (cache.layers() != config.numHiddenLayers() || cache.hidden() != config.hiddenSize()) {
            throw new IllegalArgumentException("cache is for " + cache.layers() + " layers x " + cache.hidden()
                    + " hidden, model has " + config.numHiddenLayers() + " x " + config.hiddenSize());
        }
        // Keys and values of another model's weights would give a plausible but wrong vector: refuse them.
        if (cache.modelSha256() != null && !cache.modelSha256().equals(sha256)) {
            throw new IllegalArgumentException("cache was built by model " + cache.modelSha256()
                    + ", not by this model " + sha256);
        }
    }

    /**
     * The pooled embedding of everything the cache holds, without computing anything: what an empty closing
     * chunk (or one truncated to nothing) of a causal sequence yields.
     */
    public float[] pooled(final KvCache cache, final Pooling pooling, final boolean normalize) {
        if (cache.length() == 0) {
            throw new IllegalArgumentException(EMPTY_CACHE);
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
        final float[] x = forward(new Segment[] {new Segment(tokens, 0, 0, null)}, tokens.length, causal);
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
     * The encoder stack over the packed segments ({@code rows} tokens in all): returns the final hidden
     * states [rows * hidden] row-major. Segments with a cache attend to its keys/values for earlier positions
     * and stage their own into it (the caller commits).
     */
    private float[] forward(final Segment[] segments, final int rows, final boolean causal) {
        final int h = config.hiddenSize();
        final Workspace ws = Workspace.get();
        final float[] x = ws.arr(Workspace.HIDDEN, rows * h);
        final float[] a = ws.arr(Workspace.ATTENDED, rows * h);
        embed(segments, rows, x, ws.nat(Workspace.N_INPUT, (long) rows * h));
        for (int l = 0; l < layers.length; l++) {
            attend(l, segments, rows, causal, x, a, ws);
            feedForward(layers[l], rows, a, x, ws);
        }
        return Arrays.copyOf(x, rows * h);
    }

    /**
     * x = LN(word[t] + position[p] + type[0]) for every token of every segment, also into native xN (the first
     * layer's input).
     */
    private void embed(final Segment[] segments, final int rows, final float[] x, final FloatPointer xN) {
        final int h = config.hiddenSize();
        // Each row's token and position first, so that the lookups run in parallel, next to their rows' LayerNorm.
        final int[] token = new int[rows];
        final int[] position = new int[rows];
        for (final Segment s : segments) {
            for (int r = 0; r < s.rows(); r++) {
                token[s.row() + r] = s.tokens()[r];
                position[s.row() + r] = s.start() + r;
            }
        }
        ROWS.forRows(rows, h, (from, to) -> {
            for (int r = from; r < to; r++) {
                final int w = token[r] * h;
                final int p = position[r] * h;
                final int o = r * h;
                for (int j = 0; j < h; j++) {
                    x[o + j] = wordEmbeddings[w + j] + positionAndType[p + j];
                }
            }
            Kernels.addLayerNorm(x, null, null, x, from, to, h, embeddingNorm.gamma(), embeddingNorm.beta(),
                    config.layerNormEps());
            NativeGemm.putRows(xN, x, from, to, h);
        });
    }

    /**
     * Self-attention sub-layer: a = LN(x + O(concat_h softmax(Q_h K_h^T + M) V_h)). Q, K and V for all rows
     * come from one gemm; scores and context per segment and head read strided views of it (or of the
     * segment's cached keys/values), so no head is ever copied out. x is also in native N_INPUT on entry; a is
     * left there too on return (the feed-forward's input).
     *
     * <p>Copies between the Java arrays and the native buffers happen inside the parallel row passes, each part
     * its own rows next to the element-wise work on them: in parallel, and while the rows are in cache (one
     * thread copying whole matrices cost ~8 % of a forward of 8 x 128 tokens).
     */
    private void attend(final int l, final Segment[] segments, final int rows, final boolean causal,
                        final float[] x, final float[] a, final Workspace ws) {
        final int h = config.hiddenSize();
        final int h3 = 3 * h;
        final Layer layer = layers[l];
        final FloatPointer xN = ws.nat(Workspace.N_INPUT, (long) rows * h);
        final FloatPointer qkvN = ws.nat(Workspace.N_QKV, (long) rows * h3);
        final FloatPointer ctxN = ws.nat(Workspace.N_CONTEXT, (long) rows * h);
        GEMM.linear(rows, xN, layer.qkv().weightT(), layer.qkv().bias(), h, qkvN);
        final HeadOperands[] operands = headOperands(segments, l, qkvN, ws);
        // (segment, head) pairs are independent: each part takes a range of them, with its own thread's scratch.
        final int heads = config.numAttentionHeads();
        long macs = 0;
        for (final Segment s : segments) {
            macs += 2L * s.rows() * s.context() * h;
        }
        ROWS.forParts(segments.length * heads, (int) Math.max(1, macs / HEAD_SPLIT_MACS), (from, to) -> {
            final Workspace own = Workspace.get();
            for (int u = from; u < to; u++) {
                attendHead(segments[u / heads], operands[u / heads], u % heads, causal, ctxN, own);
            }
        });
        final FloatPointer yN = ws.nat(Workspace.N_OUTPUT, (long) rows * h);
        final float[] y = ws.arr(Workspace.PROJECTED, rows * h);
        GEMM.gemm(rows, h, h, ctxN, h, false, layer.attentionOutput().weightT(), h, 0f, yN, h);
        ROWS.forRows(rows, h, (from, to) -> {
            NativeGemm.getRows(yN, y, from, to, h);
            Kernels.addLayerNorm(y, layer.attentionOutput().bias(), x, a, from, to, h,
                    layer.attentionNorm().gamma(), layer.attentionNorm().beta(), config.layerNormEps());
            NativeGemm.putRows(xN, a, from, to, h);
        });
    }

    /** Where one segment's attention reads its queries, keys and values (all heads, row stride included). */
    private record HeadOperands(FloatPointer queries, FloatPointer keys, FloatPointer values, int kvStride) {
    }

    /**
     * Each segment's operands: strided views of its QKV rows, or, for a cached prefix, a native copy of the
     * cache's keys/values for this layer (after staging the segment's own into the cache).
     */
    private HeadOperands[] headOperands(final Segment[] segments, final int l, final FloatPointer qkvN,
                                        final Workspace ws) {
        final int h = config.hiddenSize();
        final int h3 = 3 * h;
        long cachedFloats = 0;
        for (final Segment s : segments) {
            cachedFloats += s.cache() != null && s.start() > 0 ? 2L * s.context() * h : 0;
        }
        final FloatPointer kvN = cachedFloats == 0 ? null : ws.nat(Workspace.N_CACHED_KV, cachedFloats);
        long kvAt = 0;
        final HeadOperands[] out = new HeadOperands[segments.length];
        for (int k = 0; k < segments.length; k++) {
            final Segment s = segments[k];
            final FloatPointer q = NativeGemm.at(qkvN, (long) s.row() * h3);
            if (s.cache() != null) {
                stageKeysValues(s, l, q, ws);
            }
            if (s.cache() != null && s.start() > 0) {
                final int c = s.context();
                NativeGemm.put(kvN, kvAt, s.cache().keys(l), c * h);
                NativeGemm.put(kvN, kvAt + (long) c * h, s.cache().values(l), c * h);
                out[k] = new HeadOperands(q, NativeGemm.at(kvN, kvAt), NativeGemm.at(kvN, kvAt + (long) c * h), h);
                kvAt += 2L * c * h;
            } else {
                out[k] = new HeadOperands(q, NativeGemm.at(q, h), NativeGemm.at(q, 2L * h), h3);
            }
        }
        return out;
    }

    /**
     * One head of one segment's attention: scores = Q_h K_h^T (the scale is in Q), a softmax over the keys each
     * query may see (causal: positions up to its own), then ctx_h = P V_h into the head's columns of ctx. Causal
     * segments go in blocks of {@link #CAUSAL_BLOCK_ROWS} queries whose scores and context stop at the block's last
     * position: a fresh segment of n rows (a sequence's waiting chunks, a causal forward from 0) then computes
     * about 0.6 n^2 products instead of n^2, most of whose upper triangle the mask would zero.
     */
    private void attendHead(final Segment s, final HeadOperands op, final int head, final boolean causal,
                            final FloatPointer ctxN, final Workspace ws) {
        final int h = config.hiddenSize();
        final int m = s.rows();
        final int dh = config.headSize();
        final int off = head * dh;
        final int block = causal ? CAUSAL_BLOCK_ROWS : m;
        for (int r0 = 0; r0 < m; r0 += block) {
            final int r1 = Math.min(m, r0 + block);
            final int rows = r1 - r0;
            final int c = causal ? s.start() + r1 : s.context();
            final FloatPointer scoresN = ws.nat(Workspace.N_SCORES, (long) rows * c);
            final float[] scores = ws.arr(Workspace.SCORES, rows * c);
            NativeGemm.gemm(rows, c, dh, NativeGemm.at(op.queries(), (long) r0 * 3 * h + off), 3 * h, true,
                    NativeGemm.at(op.keys(), off), op.kvStride(), 0f, scoresN, c);
            NativeGemm.get(scoresN, 0, scores, rows * c);
            for (int r = 0; r < rows; r++) {
                Kernels.softmax(scores, r * c, causal ? s.start() + r0 + r + 1 : c, c, ws.kernels);
            }
            NativeGemm.put(scoresN, 0, scores, rows * c);
            NativeGemm.gemm(rows, dh, c, scoresN, c, false, NativeGemm.at(op.values(), off), op.kvStride(), 0f,
                    NativeGemm.at(ctxN, (long) (s.row() + r0) * h + off), h);
        }
    }

    /** Copies a segment's new keys and values (columns h..3h of its QKV rows) into its cache's staging area. */
    private void stageKeysValues(final Segment s, final int l, final FloatPointer qkvRows, final Workspace ws) {
        final int h = config.hiddenSize();
        final int h3 = 3 * h;
        final int m = s.rows();
        final float[] qkv = ws.arr(Workspace.QKV_ROWS, m * h3);
        NativeGemm.get(qkvRows, 0, qkv, m * h3);
        final float[] newK = new float[m * h];
        final float[] newV = new float[m * h];
        for (int r = 0; r < m; r++) {
            System.arraycopy(qkv, r * h3 + h, newK, r * h, h);
            System.arraycopy(qkv, r * h3 + 2 * h, newV, r * h, h);
        }
        s.cache().stage(l, newK, newV, m);
    }

    /**
     * Feed-forward sub-layer: x = LN(a + W2 gelu(W1 a + b1) + b2); a is in native N_INPUT on entry, x is left
     * there on return (the next layer's input). Copies as in {@link #attend}.
     */
    private void feedForward(final Layer layer, final int rows, final float[] a, final float[] x,
                             final Workspace ws) {
        final int h = config.hiddenSize();
        final int inter = config.intermediateSize();
        final FloatPointer aN = ws.nat(Workspace.N_INPUT, (long) rows * h);
        final FloatPointer midN = ws.nat(Workspace.N_INTERMEDIATE, (long) rows * inter);
        final FloatPointer yN = ws.nat(Workspace.N_OUTPUT, (long) rows * h);
        final float[] mid = ws.arr(Workspace.INTERMEDIATE, rows * inter);
        final float[] y = ws.arr(Workspace.PROJECTED, rows * h);
        GEMM.gemm(rows, inter, h, aN, h, false, layer.intermediate().weightT(), inter, 0f, midN, inter);
        // In blocks that stay in L2 across the three passes (GELU and its copies, b8 x 128 tokens: ~13 -> ~11 ms).
        ROWS.forRowBlocks(rows, inter, (from, to) -> {
            NativeGemm.getRows(midN, mid, from, to, inter);
            Kernels.biasActivate(mid, from, to, inter, layer.intermediate().bias(), config.hiddenAct(),
                    Workspace.get().kernels);
            NativeGemm.putRows(midN, mid, from, to, inter);
        });
        GEMM.gemm(rows, h, inter, midN, inter, false, layer.output().weightT(), h, 0f, yN, h);
        ROWS.forRows(rows, h, (from, to) -> {
            NativeGemm.getRows(yN, y, from, to, h);
            Kernels.addLayerNorm(y, layer.output().bias(), a, x, from, to, h, layer.outputNorm().gamma(),
                    layer.outputNorm().beta(), config.layerNormEps());
            NativeGemm.putRows(aN, x, from, to, h);
        });
    }
}
