package dev.seqembed.engine;

import java.util.ArrayList;
import java.util.List;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.model.DenseWindowModel;

/**
 * Embeds a micro-batch of windows with one model call (one GEMM pair) and attaches each window's share of
 * the cost. Used by the streaming dense processor and by the offline {@code embed} command alike.
 */
public final class DenseEngine {

    /** A window to embed and the timestamp of the input record behind it. */
    public record Pending(WindowRecord window, long inputTimestampMs) {
    }

    private final DenseWindowModel model;
    private final ModelRef modelRef;
    private final Clock clock;

    public DenseEngine(final DenseWindowModel model, final Clock clock) {
        this.model = model;
        this.modelRef = new ModelRef(model.id(), model.sha256());
        this.clock = clock;
    }

    public DenseWindowModel model() {
        return model;
    }

    /** Embeds the batch; results are in input order. */
    public List<Embedding> embed(final List<Pending> batch) {
        final int n = batch.size();
        final int[][] tokens = new int[n][];
        final int[] valid = new int[n];
        int realTokens = 0;
        int padded = 0;
        for (int i = 0; i < n; i++) {
            final WindowRecord w = batch.get(i).window();
            tokens[i] = Vectors.toIntArray(w.getTokens());
            valid[i] = w.getValid();
            realTokens += w.getValid();
            padded += tokens[i].length - w.getValid();
        }
        final long startMs = clock.millis();
        final long t0 = System.nanoTime();
        final float[][] vectors = model.embedWindows(tokens, valid);
        final long nanos = System.nanoTime() - t0;
        final long endMs = clock.millis();
        final long flops = model.config().flopsPerWindow();
        final List<Embedding> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            final Pending p = batch.get(i);
            final WindowRecord w = p.window();
            final ComputeMetrics metrics = ComputeMetrics.newBuilder()
                    .setFlops(flops)
                    .setComputeNanos(nanos / n)
                    .setBatchSize(n)
                    .setBatchTokens(realTokens)
                    .setPaddedTokens(padded)
                    .setSequenceLength(w.getStart() + w.getValid())
                    .setStateBytes(0)
                    .setQueueMillis(Math.max(0, startMs - w.getIngestTimeMs()))
                    .setEndToEndMillis(Math.max(0, endMs - p.inputTimestampMs()))
                    .setCacheHitTokens(0)
                    .build();
            out.add(Embedding.newBuilder()
                    .setSequenceId(w.getSequenceId())
                    .setPath(EmbeddingPath.DENSE)
                    .setIndex(w.getWindowIndex())
                    .setStart(w.getStart())
                    .setLength(w.getValid())
                    .setFinal$(w.getFinal$())
                    .setVector(Vectors.toList(vectors[i]))
                    .setModel(modelRef)
                    .setMetrics(metrics)
                    .build());
        }
        return out;
    }
}
