package dev.seqembed.demo;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.metrics.LengthBuckets;

/**
 * What the demo saw come out: counts, latencies and the cost of each sequence per path, summarised as the
 * table that shows dense cost growing linearly with length and attention cost quadratically.
 */
final class DemoStats {

    /** Cost of one sequence on one path: summed over its windows (dense) or chunks (causal). */
    private static final class Cost {
        long flops;
        long nanos;
        int length;
    }

    private final Map<String, Cost> dense = new ConcurrentHashMap<>();
    private final Map<String, Cost> attention = new ConcurrentHashMap<>();
    private final List<Long> denseLatency = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> attentionLatency = Collections.synchronizedList(new ArrayList<>());
    private final List<Embedding> firstDense = Collections.synchronizedList(new ArrayList<>());
    private final List<Embedding> firstAttention = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Integer> dlqByReason = new ConcurrentHashMap<>();
    /** Causal chunks by prefix bucket: count, FLOPs, nanos (what a KV-cached chunk costs as the prefix grows). */
    private final Map<Integer, long[]> chunksByPrefix = new ConcurrentHashMap<>();

    void embedding(final Embedding e) {
        final boolean isDense = e.getPath() == EmbeddingPath.DENSE;
        final ComputeMetrics m = e.getMetrics();
        final Cost c = (isDense ? dense : attention).computeIfAbsent(e.getSequenceId(), k -> new Cost());
        synchronized (c) {
            c.flops += m.getFlops();
            c.nanos += m.getComputeNanos();
            c.length = Math.max(c.length, m.getSequenceLength());
        }
        (isDense ? denseLatency : attentionLatency).add(m.getEndToEndMillis());
        if (!isDense && m.getCacheHitTokens() > 0) {
            final long[] agg = chunksByPrefix.computeIfAbsent(LengthBuckets.upperBoundOf(m.getSequenceLength()),
                    b -> new long[3]);
            synchronized (agg) {
                agg[0]++;
                agg[1] += m.getFlops();
                agg[2] += m.getComputeNanos();
            }
        }
        final List<Embedding> first = isDense ? firstDense : firstAttention;
        if (first.size() < 2) {
            first.add(e);
        }
    }

    void deadLetter(final String reason) {
        dlqByReason.merge(reason, 1, Integer::sum);
    }

    int denseCount() {
        return denseLatency.size();
    }

    int attentionCount() {
        return attentionLatency.size();
    }

    int dlqCount() {
        return dlqByReason.values().stream().mapToInt(Integer::intValue).sum();
    }

    /**
     * Causal mode: the cost of one chunk computed against the KV cache, by prefix length, next to what
     * recomputing the whole prefix would cost; the first grows linearly with the prefix, the second quadratically.
     *
     * @param recomputeFlops FLOPs of a full forward over a prefix of the given length
     */
    void printCausal(final PrintStream out, final java.util.function.IntToLongFunction recomputeFlops) {
        if (chunksByPrefix.isEmpty()) {
            return;
        }
        out.println("causal chunks (with KV cache) by prefix length, vs recomputing the whole prefix");
        out.printf("%-10s %6s | %14s %12s | %18s%n", "prefix", "chunks", "MFLOP/chunk", "ms/chunk",
                "recompute MFLOP");
        int lower = 1;
        for (final int upper : LengthBuckets.upperBounds()) {
            final long[] agg = chunksByPrefix.get(upper);
            if (agg != null && agg[0] > 0) {
                out.printf("%-10s %6d | %14.1f %12.2f | %18.1f%n", lower + "-" + upper, agg[0],
                        agg[1] / (double) agg[0] / 1e6, agg[2] / (double) agg[0] / 1e6,
                        recomputeFlops.applyAsLong(upper) / 1e6);
            }
            lower = upper + 1;
        }
        out.println();
    }

    void printSummary(final PrintStream out, final long chunksIn, final double seconds) {
        out.println();
        out.println("== summary ==================================================================");
        out.printf("records in: %d chunks in %.1f s; out: dense %d windows, attention %d embeddings; dlq %d %s%n",
                chunksIn, seconds, denseCount(), attentionCount(), dlqCount(), new TreeMap<>(dlqByReason));
        out.printf("end-to-end latency ms   dense p50 %d p99 %d   attention p50 %d p99 %d%n",
                percentile(denseLatency, 50), percentile(denseLatency, 99), percentile(attentionLatency, 50),
                percentile(attentionLatency, 99));
        out.println();
        out.println("cost per sequence by length (dense: sum over its windows; attention: its forward passes);");
        out.println("per token, dense stays flat (linear in length) while attention grows (its n^2 attention term)");
        out.printf("%-10s %5s | %12s %9s %11s | %12s %9s %11s%n", "length", "seqs", "dense MFLOP", "dense ms",
                "MFLOP/token", "attn MFLOP", "attn ms", "MFLOP/token");
        int lower = 1;
        for (final int upper : LengthBuckets.upperBounds()) {
            printBucket(out, lower, upper);
            lower = upper + 1;
        }
        printBucket(out, lower, Integer.MAX_VALUE);
        out.println();
    }

    void printFirst(final PrintStream out) {
        printFirst(out, "dense", firstDense);
        printFirst(out, "attention", firstAttention);
    }

    private void printBucket(final PrintStream out, final int lower, final int upper) {
        final double[] d = mean(dense, lower, upper);
        final double[] a = mean(attention, lower, upper);
        if (d[0] == 0 && a[0] == 0) {
            return;
        }
        final String label = upper == Integer.MAX_VALUE ? ">" + (lower - 1) : lower + "-" + upper;
        out.printf("%-10s %5d | %12.1f %9.2f %11.3f | %12.1f %9.2f %11.3f%n", label, (int) Math.max(d[0], a[0]),
                d[1] / 1e6, d[2] / 1e6, perToken(d), a[1] / 1e6, a[2] / 1e6, perToken(a));
    }

    private static double perToken(final double[] mean) {
        return mean[3] == 0 ? 0 : mean[1] / mean[3] / 1e6;
    }

    private static double[] mean(final Map<String, Cost> costs, final int lower, final int upper) {
        double n = 0;
        double flops = 0;
        double nanos = 0;
        double tokens = 0;
        for (final Cost c : costs.values()) {
            if (c.length >= lower && c.length <= upper) {
                n++;
                flops += c.flops;
                nanos += c.nanos;
                tokens += c.length;
            }
        }
        return n == 0 ? new double[] {0, 0, 0, 0} : new double[] {n, flops / n, nanos / n, tokens / n};
    }

    private static long percentile(final List<Long> values, final int p) {
        final List<Long> sorted;
        synchronized (values) {
            sorted = new ArrayList<>(values);
        }
        if (sorted.isEmpty()) {
            return 0;
        }
        Collections.sort(sorted);
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    private static void printFirst(final PrintStream out, final String path, final List<Embedding> first) {
        for (final Embedding e : first) {
            final List<Float> v = e.getVector();
            final StringBuilder head = new StringBuilder();
            for (int i = 0; i < Math.min(6, v.size()); i++) {
                head.append(String.format("%+.4f ", v.get(i)));
            }
            final ComputeMetrics m = e.getMetrics();
            out.printf("%-9s %s #%d [%d..%d) dim %d: %s... flops %d, %d us, batch %d, state %d B, e2e %d ms%n",
                    path, e.getSequenceId(), e.getIndex(), e.getStart(), e.getStart() + e.getLength(), v.size(),
                    head, m.getFlops(), m.getComputeNanos() / 1000, m.getBatchSize(), m.getStateBytes(),
                    m.getEndToEndMillis());
        }
    }
}
