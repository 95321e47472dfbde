package dev.seqembed.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;

/**
 * Runs the attention model for one sequence and attaches the cost (SPEC §6): a whole-sequence bidirectional
 * forward in encoder mode, or one chunk against the sequence's KV cache in causal mode. Shared by the
 * streaming processors and the offline {@code embed} command.
 */
public final class AttentionEngine {

    /** Makes an engine bound to a clock (a processor's wall clock, or the system's). */
    @FunctionalInterface
    public interface Factory {
        AttentionEngine create(Clock clock);
    }

    private final BertModel model;
    private final ModelRef modelRef;
    private final Pooling pooling;
    private final boolean normalize;
    private final Clock clock;

    public AttentionEngine(final BertModel model, final Pooling pooling, final boolean normalize, final Clock clock) {
        this.model = model;
        this.modelRef = new ModelRef(model.id(), model.sha256());
        this.pooling = pooling;
        this.normalize = normalize;
        this.clock = clock;
    }

    /**
     * What the encoder computes one Embedding for: a complete sequence, or one window of a long one
     * ({@code attention.overflow=window}, SPEC §10.3).
     *
     * @param tokens         the tokens encoded (the window's alone, from position 0)
     * @param ingestMs       when the record that completed the sequence was ingested (its timestamp)
     * @param stateBytes     bytes the sequence's buffer held when it was computed
     * @param index          the window number (0 for a whole sequence)
     * @param start          offset of the first token in the sequence
     * @param last           whether this is the sequence's last (or only) Embedding
     * @param sequenceLength tokens in the whole sequence ({@code metrics.sequence_length})
     */
    public record Pending(String sequenceId, int[] tokens, long ingestMs, long stateBytes, int index, int start,
                          boolean last, int sequenceLength) {

        /** A whole sequence: one Embedding, index 0. */
        public Pending(final String sequenceId, final int[] tokens, final long ingestMs, final long stateBytes) {
            this(sequenceId, tokens, ingestMs, stateBytes, 0, 0, true, tokens.length);
        }

        /**
         * What a complete sequence is encoded as: its windows when {@code windowStride} &gt; 0 and it is longer
         * than {@code positions} ({@link AttentionWindows}), else the whole sequence.
         */
        public static List<Pending> of(final String sequenceId, final int[] sequence, final long ingestMs,
                                       final long stateBytes, final int positions, final int windowStride) {
            if (windowStride <= 0 || sequence.length <= positions) {
                return List.of(new Pending(sequenceId, sequence, ingestMs, stateBytes));
            }
            final List<AttentionWindows.Span> spans = AttentionWindows.spans(sequence.length, positions, windowStride);
            final List<Pending> out = new ArrayList<>(spans.size());
            for (final AttentionWindows.Span w : spans) {
                out.add(new Pending(sequenceId, Arrays.copyOfRange(sequence, w.start(), w.end()), ingestMs,
                        stateBytes, w.index(), w.start(), w.index() == spans.size() - 1, sequence.length));
            }
            return out;
        }
    }

    public BertModel model() {
        return model;
    }

    /** This engine, or one with the same settings on {@code other} (a sequence started on another model). */
    public AttentionEngine on(final BertModel other) {
        return other == model ? this : new AttentionEngine(other, pooling, normalize, clock);
    }

    /**
     * Encoder mode: one bidirectional forward over the whole sequence.
     *
     * @param stateBytes bytes the sequence's buffer held when it was computed
     * @param ingestMs when the record that completed the sequence was ingested (its timestamp)
     */
    public Embedding encode(final String sequenceId, final int[] tokens, final long ingestMs, final long stateBytes) {
        return encodeBatch(List.of(new Pending(sequenceId, tokens, ingestMs, stateBytes))).get(0);
    }

    /**
     * Encoder mode for a micro-batch: every sequence in one packed forward (SPEC §8), results in input order.
     * Each record carries the batch's size and tokens and its share of the batch's compute time in proportion
     * to its FLOPs (a long sequence costs more than a short one in the same GEMMs).
     */
    public List<Embedding> encodeBatch(final List<Pending> batch) {
        final int n = batch.size();
        final int[][] tokens = new int[n][];
        long flops = 0;
        int batchTokens = 0;
        for (int k = 0; k < n; k++) {
            tokens[k] = batch.get(k).tokens();
            batchTokens += tokens[k].length;
            flops += model.config().flops(tokens[k].length, tokens[k].length);
        }
        final long startMs = clock.millis();
        final long t0 = System.nanoTime();
        final float[][] vectors = model.encodeBatch(tokens, pooling, normalize);
        final long nanos = System.nanoTime() - t0;
        final List<Embedding> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            final Pending p = batch.get(k);
            final int len = tokens[k].length;
            final long f = model.config().flops(len, len);
            out.add(embedding(p.sequenceId(), p.index(), p.start(), len, p.last(), vectors[k], metrics(f,
                    share(nanos, f, flops, n), n, batchTokens, p.sequenceLength(), p.stateBytes(), startMs,
                    p.ingestMs(), 0)));
        }
        return out;
    }

    /**
     * One chunk of a causal micro-batch.
     *
     * @param cache      the sequence's cache; its length is the chunk's start offset, and it is extended in place
     * @param tokens     the chunk's tokens (empty: a bare {@code last} marker, or everything truncated)
     * @param ingestMs   the chunk record's timestamp
     */
    public record CausalChunk(String sequenceId, KvCache cache, int chunkIndex, int[] tokens, boolean last,
                              long ingestMs) {
    }

    /**
     * Causal mode: processes one chunk against the cache, which it extends.
     *
     * @param cache the sequence's cache; its length is the chunk's start offset
     */
    public Embedding causal(final String sequenceId, final KvCache cache, final int chunkIndex, final int[] chunk,
                            final boolean last, final long ingestMs) {
        return causalBatch(List.of(new CausalChunk(sequenceId, cache, chunkIndex, chunk, last, ingestMs))).get(0);
    }

    /**
     * Causal mode for a micro-batch: chunks of several sequences in one packed forward (the per-token GEMMs over
     * the rows of all of them, attention per sequence against its own cache), results in input order; no cache
     * changes unless the whole batch succeeds. Chunks with the same cache are one sequence's, in order: they form
     * one segment of the forward ({@link BertModel#appendCausalBatch}), each starting where the one before it
     * ends. Compute time is shared in proportion to FLOPs, as in {@link #encodeBatch}.
     */
    public List<Embedding> causalBatch(final List<CausalChunk> batch) {
        final int n = batch.size();
        final int[] starts = new int[n];
        final long[] flops = new long[n];
        final KvCache[] caches = new KvCache[n];
        final int[][] chunks = new int[n][];
        final Map<KvCache, Integer> lengths = new IdentityHashMap<>();
        long totalFlops = 0;
        int batchTokens = 0;
        for (int k = 0; k < n; k++) {
            final CausalChunk c = batch.get(k);
            final int len = c.tokens().length;
            caches[k] = c.cache();
            chunks[k] = c.tokens();
            starts[k] = lengths.getOrDefault(c.cache(), c.cache().length());
            lengths.put(c.cache(), starts[k] + len);
            batchTokens += len;
            // An empty chunk computes nothing: it yields the prefix's embedding.
            flops[k] = len == 0 ? 0 : model.config().flops(len, starts[k] + len);
            totalFlops += flops[k];
        }
        final long startMs = clock.millis();
        final long t0 = System.nanoTime();
        final float[][] vectors = model.appendCausalBatch(caches, chunks, pooling, normalize);
        final long nanos = System.nanoTime() - t0;
        final BertConfig config = model.config();
        final List<Embedding> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            final CausalChunk c = batch.get(k);
            final int len = c.tokens().length;
            out.add(embedding(c.sequenceId(), c.chunkIndex(), starts[k], len, c.last(), vectors[k],
                    metrics(flops[k], share(nanos, flops[k], totalFlops, n), n, batchTokens, starts[k] + len,
                            KvCache.sizeBytes(config.numHiddenLayers(), config.hiddenSize(), starts[k] + len),
                            startMs, c.ingestMs(), starts[k])));
        }
        return out;
    }

    /** A record's share of a batch's compute time: in proportion to its FLOPs (evenly when the batch has none). */
    private static long share(final long batchNanos, final long flops, final long batchFlops, final int batchSize) {
        return batchFlops == 0 ? batchNanos / batchSize : Math.round((double) batchNanos * flops / batchFlops);
    }

    private ComputeMetrics metrics(final long flops, final long nanos, final int batchSize, final int batchTokens,
                                   final int sequenceLength, final long stateBytes, final long startMs, final long ingestMs,
                                   final int cacheHits) {
        return ComputeMetrics.newBuilder()
                .setFlops(flops)
                .setComputeNanos(nanos)
                .setBatchSize(batchSize)
                .setBatchTokens(batchTokens)
                .setPaddedTokens(0)
                .setSequenceLength(sequenceLength)
                .setStateBytes(stateBytes)
                .setQueueMillis(Math.max(0, startMs - ingestMs))
                .setEndToEndMillis(Math.max(0, clock.millis() - ingestMs))
                .setCacheHitTokens(cacheHits)
                .build();
    }

    private Embedding embedding(final String sequenceId, final int index, final int start, final int length,
                                final boolean fin, final float[] vector, final ComputeMetrics metrics) {
        return Embedding.newBuilder()
                .setSequenceId(sequenceId)
                .setPath(EmbeddingPath.ATTENTION)
                .setIndex(index)
                .setStart(start)
                .setLength(length)
                .setFinal$(fin)
                .setVector(Vectors.toList(vector))
                .setModel(modelRef)
                .setMetrics(metrics)
                .build();
    }
}
