package dev.seqembed.engine;

import java.util.ArrayList;
import java.util.List;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;
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
     * A complete sequence waiting for the encoder.
     *
     * @param stateBytes bytes the sequence's buffer held when it was computed
     * @param ingestMs when the record that completed the sequence was ingested (its timestamp)
     */
    public record Pending(String sequenceId, int[] tokens, long ingestMs, long stateBytes) {
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
            final long share = flops == 0 ? nanos / n : Math.round((double) nanos * f / flops);
            out.add(embedding(p.sequenceId(), 0, 0, len, true, vectors[k], metrics(f, share, n, batchTokens, len,
                    p.stateBytes(), startMs, p.ingestMs(), 0)));
        }
        return out;
    }

    /**
     * Causal mode: processes one chunk against the cache, which it extends.
     *
     * @param cache the sequence's cache; its length is the chunk's start offset
     */
    public Embedding causal(final String sequenceId, final KvCache cache, final int chunkIndex, final int[] chunk,
                            final boolean last, final long ingestMs) {
        final int start = cache.length();
        final long startMs = clock.millis();
        final long t0 = System.nanoTime();
        // An empty chunk (a bare `last` marker, or everything truncated) computes nothing: the prefix's embedding.
        final float[] vector = chunk.length == 0 ? model.pooled(cache, pooling, normalize)
                : model.appendCausal(cache, chunk, pooling, normalize);
        final long nanos = System.nanoTime() - t0;
        final int total = start + chunk.length;
        return embedding(sequenceId, chunkIndex, start, chunk.length, last, vector,
                metrics(chunk.length == 0 ? 0 : model.config().flops(chunk.length, total), nanos, 1, chunk.length,
                        total, cache.sizeBytes(), startMs, ingestMs, start));
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
