package dev.seqembed.bench;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.streams.StreamsConfig;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.seqembed.bench.OutputWatch.Rec;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.broker.EmbeddedKafkaBroker;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.model.SquareGemm;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.platform.BlasKernel;
import dev.seqembed.platform.CpuInfo;
import dev.seqembed.runtime.ScratchStateDir;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.topology.Models;

/**
 * The sections of {@code bench} (SPEC §8), each callable on its own (tests run the cheap ones with tiny sizes).
 * Every section prints a table to {@link #out} and returns its part of the JSON document described in
 * {@link BenchSuite}. Timing: warm-up calls, then repetitions until both a minimum count and a time budget
 * are reached; {@code ms} fields are medians, {@code best_ms} the fastest repetition.
 */
public final class Bench {

    static final ObjectMapper JSON = BenchJson.MAPPER;

    /** Sequences in the causal micro-batch section. */
    static final int CAUSAL_BATCH_SEQUENCES = 8;

    /** Run sizes: {@link #quick()} (under a minute on 2 cores) and {@link #full()} (a few minutes). */
    public record Sizes(int sgemmN, int warmups, int minReps, long budgetMs, int[] denseBatches, int[] encoderLengths,
                        int[] causalPrefixes, int causalChunk, int e2eSequences, int e2eLength, long e2eTimeoutMs) {

        public static Sizes quick() {
            return new Sizes(1024, 2, 5, 400, new int[] {1, 8, 64, 256}, new int[] {16, 32, 64, 128, 256, 512},
                    range(16, 496, 96), 16, 300, 64, 60_000);
        }

        public static Sizes full() {
            return new Sizes(1024, 3, 5, 1500, new int[] {1, 8, 64, 256}, new int[] {16, 32, 64, 128, 256, 512},
                    range(16, 496, 32), 16, 2000, 64, 180_000);
        }

        static int[] range(final int from, final int to, final int step) {
            final List<Integer> out = new ArrayList<>();
            for (int p = from; p <= to; p += step) {
                out.add(p);
            }
            if (out.get(out.size() - 1) != to) {
                out.add(to);
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** Repetition times in nanoseconds. */
    public record Stats(long bestNanos, long medianNanos, int reps) {
        double medianMs() {
            return medianNanos / 1e6;
        }

        double bestMs() {
            return bestNanos / 1e6;
        }
    }

    private final Sizes sizes;
    private final PrintStream out;

    public Bench(final Sizes sizes, final PrintStream out) {
        this.sizes = sizes;
        this.out = out;
    }

    /** Runs {@code rep} (which returns its own elapsed nanos) after warm-ups, until min reps and the budget are met. */
    Stats measure(final LongSupplier rep) {
        for (int i = 0; i < sizes.warmups(); i++) {
            rep.getAsLong();
        }
        final List<Long> times = new ArrayList<>();
        final long budget = sizes.budgetMs() * 1_000_000L;
        long spent = 0;
        while (times.size() < sizes.minReps() || (spent < budget && times.size() < 1000)) {
            final long t = rep.getAsLong();
            times.add(t);
            spent += t;
        }
        final long[] sorted = times.stream().mapToLong(Long::longValue).sorted().toArray();
        return new Stats(sorted[0], sorted[sorted.length / 2], sorted.length);
    }

    // ---------------------------------------------------------------- environment

    /** Kernel, threads, CPU and Java; loads ND4J (through the BLAS probe) so the active kernel can be named. */
    public ObjectNode environment(final boolean quick) {
        final boolean probe = BlasKernel.probe();
        final ObjectNode env = JSON.valueToTree(new BenchJson.Environment(BlasKernel.coreType(), BlasKernel.source(),
                BlasKernel.activeCoreName(), BlasKernel.nativeThreads(), BlasKernel.waitPolicy(),
                probe ? "passed" : "FAILED", CpuInfo.modelName(), Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                        + System.getProperty("os.arch"),
                Runtime.getRuntime().maxMemory() >> 20, quick, java.time.Instant.now().toString()));
        out.println("== environment");
        env.properties().forEach(e -> out.printf("  %-26s %s%n", e.getKey(), e.getValue().asText()));
        if (!probe) {
            out.println("  WARNING: the BLAS self-check failed: results below may be wrong");
        }
        return env;
    }

    // ---------------------------------------------------------------- sgemm

    /** Plain float sgemm n x n x n, run as model forwards run theirs (OpenBLAS split over the model threads). */
    public ObjectNode sgemm() {
        final int n = sizes.sgemmN();
        final Stats s;
        try (SquareGemm gemm = new SquareGemm(n)) {
            s = measure(() -> {
                final long t0 = System.nanoTime();
                gemm.run();
                return System.nanoTime() - t0;
            });
        }
        final double flops = 2.0 * n * n * n;
        final ObjectNode node = JSON.valueToTree(new BenchJson.Sgemm(n, n, n, (long) flops, round(s.medianMs()),
                round(s.bestMs()), round(flops / s.medianNanos()), round(flops / s.bestNanos()), s.reps()));
        out.printf("%n== plain sgemm %dx%dx%d float (OpenBLAS %s, %s model threads)%n", n, n, n,
                BlasKernel.activeCoreName(), BlasKernel.nativeThreads());
        out.printf("  median %.2f ms  best %.2f ms  ->  %.1f GFLOP/s (best %.1f), %d reps%n", s.medianMs(), s.bestMs(),
                flops / s.medianNanos(), flops / s.bestNanos(), s.reps());
        return node;
    }

    // ---------------------------------------------------------------- dense

    /** {@code embedWindows} at each batch size (full windows), GFLOP/s and the ratio to {@code sgemmGflops}. */
    public ArrayNode dense(final DenseWindowModel model, final double sgemmGflops) {
        final WindowMlpConfig c = model.config();
        final SplittableRandom random = new SplittableRandom(1);
        final ArrayNode rows = JSON.createArrayNode();
        out.printf("%n== dense window model (W=%d d=%d H=%d O=%d, %d FLOPs/window): embedWindows per batch%n",
                c.window(), c.embedDim(), c.hiddenSize(), c.outputSize(), c.flopsPerWindow());
        out.printf("  %6s %10s %10s %12s %10s %12s%n", "batch", "ms", "best ms", "windows/s", "GFLOP/s", "vs sgemm");
        for (final int batch : sizes.denseBatches()) {
            final int[][] tokens = new int[batch][c.window()];
            final int[] valid = new int[batch];
            final int base = Math.min(1000, c.vocabSize() / 2);
            for (int i = 0; i < batch; i++) {
                for (int j = 0; j < c.window(); j++) {
                    tokens[i][j] = base + random.nextInt(c.vocabSize() - base);
                }
                valid[i] = c.window();
            }
            final Stats s = measure(() -> {
                final long t0 = System.nanoTime();
                model.embedWindows(tokens, valid);
                return System.nanoTime() - t0;
            });
            final double flops = (double) batch * c.flopsPerWindow();
            final double gflops = flops / s.medianNanos();
            rows.add(JSON.valueToTree(new BenchJson.DenseRow(batch, (long) flops, round(s.medianMs()),
                    round(s.bestMs()), round(s.medianMs() / batch), round(batch * 1e9 / s.medianNanos()),
                    round(gflops), sgemmGflops > 0 ? round(gflops / sgemmGflops) : null, s.reps())));
            out.printf("  %6d %10.3f %10.3f %12.0f %10.2f %11.1f%%%n", batch, s.medianMs(), s.bestMs(),
                    batch * 1e9 / s.medianNanos(), gflops, sgemmGflops > 0 ? 100 * gflops / sgemmGflops : Double.NaN);
        }
        return rows;
    }

    // ---------------------------------------------------------------- attention encoder

    /** One bidirectional forward per sequence length: time and analytic FLOPs (quadratic term included). */
    public ArrayNode encoder(final BertModel model) {
        final BertConfig c = model.config();
        final ArrayNode rows = JSON.createArrayNode();
        out.printf("%n== attention encoder (L=%d h=%d heads=%d i=%d): one bidirectional forward per sequence%n",
                c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads(), c.intermediateSize());
        out.printf("  %6s %14s %10s %10s %10s %12s %14s%n", "length", "FLOPs", "ms", "best ms", "GFLOP/s", "seq/s",
                "attn FLOP share");
        warmUp(model);
        for (final int length : sizes.encoderLengths()) {
            if (length > c.maxPositionEmbeddings()) {
                continue;
            }
            final int[] tokens = tokens(c.vocabSize(), length, length);
            final Stats s = measure(() -> {
                final long t0 = System.nanoTime();
                model.encode(tokens, Pooling.MEAN, true);
                return System.nanoTime() - t0;
            });
            final long flops = c.flops(length, length);
            final double quadratic = (double) c.numHiddenLayers() * 4L * length * length * c.hiddenSize();
            rows.add(JSON.valueToTree(new BenchJson.EncoderRow(length, flops, round(s.medianMs()), round(s.bestMs()),
                    round(flops / (double) s.medianNanos()), flops / length, s.reps())));
            out.printf("  %6d %14d %10.3f %10.3f %10.2f %12.1f %13.1f%%%n", length, flops, s.medianMs(), s.bestMs(),
                    flops / (double) s.medianNanos(), 1e9 / s.medianNanos(), 100 * quadratic / flops);
        }
        return rows;
    }

    // ---------------------------------------------------------------- attention causal

    /**
     * A chunk of {@code causalChunk} tokens appended to a KV cache holding {@code prefix} tokens, against the
     * alternative without a cache: a causal forward over all {@code prefix + chunk} tokens from a fresh cache
     * (the same embedding). The cache is copied before each repetition, outside the timed region.
     */
    public ArrayNode causal(final BertModel model) {
        final BertConfig c = model.config();
        final int chunk = sizes.causalChunk();
        final ArrayNode rows = JSON.createArrayNode();
        out.printf("%n== attention causal: %d-token chunk with the KV cache vs full recompute of prefix + chunk%n", chunk);
        out.printf("  %6s %10s %12s %12s %14s %14s %9s%n", "prefix", "cached ms", "recompute ms", "time ratio",
                "FLOPs cached", "FLOPs recomp", "FLOP ratio");
        for (final int prefix : sizes.causalPrefixes()) {
            if (prefix + chunk > c.maxPositionEmbeddings()) {
                continue;
            }
            final int[] all = tokens(c.vocabSize(), prefix + chunk, 31L * prefix + 7);
            final int[] head = Arrays.copyOf(all, prefix);
            final int[] tail = Arrays.copyOfRange(all, prefix, prefix + chunk);
            final KvCache filled = model.newCache();
            model.appendCausal(filled, head, Pooling.MEAN, true);
            final AtomicReference<KvCache> scratch = new AtomicReference<>();
            final Stats cached = measure(() -> {
                scratch.set(filled.copy());
                final long t0 = System.nanoTime();
                model.appendCausal(scratch.get(), tail, Pooling.MEAN, true);
                return System.nanoTime() - t0;
            });
            final Stats recompute = measure(() -> {
                final KvCache fresh = model.newCache();
                final long t0 = System.nanoTime();
                model.appendCausal(fresh, all, Pooling.MEAN, true);
                return System.nanoTime() - t0;
            });
            final long flopsCached = c.flops(chunk, prefix + chunk);
            final long flopsRecompute = c.flops(prefix + chunk, prefix + chunk);
            rows.add(JSON.valueToTree(new BenchJson.CausalRow(prefix, chunk, round(cached.medianMs()),
                    round(cached.bestMs()), round(recompute.medianMs()), round(recompute.bestMs()), flopsCached,
                    flopsRecompute, round(recompute.medianMs() / cached.medianMs()), filled.sizeBytes())));
            out.printf("  %6d %10.3f %12.3f %11.1fx %14d %14d %8.1fx%n", prefix, cached.medianMs(),
                    recompute.medianMs(), recompute.medianMs() / cached.medianMs(), flopsCached, flopsRecompute,
                    (double) flopsRecompute / flopsCached);
        }
        return rows;
    }

    /**
     * The causal micro-batch: {@link #CAUSAL_BATCH_SEQUENCES} sequences, each with a cached prefix, get one more
     * chunk each (chunks of {@code causalChunk} and of 64 tokens), and one sequence gets
     * {@link #CAUSAL_BATCH_SEQUENCES} chunks of {@code causalChunk} at once (a consumer catching up): computed one
     * forward per chunk, then as one packed forward, as the processor computes chunks that wait together.
     */
    public ArrayNode causalBatch(final BertModel model) {
        final int n = CAUSAL_BATCH_SEQUENCES;
        final ArrayNode rows = JSON.createArrayNode();
        out.printf("%n== attention causal micro-batch: chunks on a cached prefix, one forward each vs one packed "
                + "forward%n");
        out.printf("  %9s %6s %6s %6s %14s %11s %17s %15s %8s%n", "sequences", "chunks", "prefix", "chunk",
                "one by one ms", "batched ms", "one by one tok/s", "batched tok/s", "speedup");
        causalBatchRow(model, n, 1, sizes.causalChunk(), rows);
        causalBatchRow(model, n, 1, 64, rows);
        causalBatchRow(model, 1, n, sizes.causalChunk(), rows);
        return rows;
    }

    /** One row of {@link #causalBatch}: {@code sequences} x {@code chunks} chunks of {@code chunk} tokens. */
    private void causalBatchRow(final BertModel model, final int sequences, final int chunks, final int chunk,
                                final ArrayNode rows) {
        final BertConfig c = model.config();
        final int prefix = Math.min(64, c.maxPositionEmbeddings() - chunks * chunk);
        if (prefix < 1) {
            return;
        }
        final KvCache[] filled = new KvCache[sequences];
        final int[][] tails = new int[sequences * chunks][];
        for (int s = 0; s < sequences; s++) {
            final int[] all = tokens(c.vocabSize(), prefix + chunks * chunk, 97L * s + chunk);
            filled[s] = model.newCache();
            model.appendCausal(filled[s], Arrays.copyOf(all, prefix), Pooling.MEAN, true);
            for (int j = 0; j < chunks; j++) {
                tails[s * chunks + j] = Arrays.copyOfRange(all, prefix + j * chunk, prefix + (j + 1) * chunk);
            }
        }
        final Stats alone = measure(() -> {
            final KvCache[] caches = copies(filled);
            final long t0 = System.nanoTime();
            for (int k = 0; k < tails.length; k++) {
                model.appendCausal(caches[k / chunks], tails[k], Pooling.MEAN, true);
            }
            return System.nanoTime() - t0;
        });
        final Stats batched = measure(() -> {
            final KvCache[] caches = copies(filled);
            final KvCache[] perChunk = new KvCache[tails.length];
            for (int k = 0; k < tails.length; k++) {
                perChunk[k] = caches[k / chunks];
            }
            final long t0 = System.nanoTime();
            model.appendCausalBatch(perChunk, tails, Pooling.MEAN, true);
            return System.nanoTime() - t0;
        });
        final int tokens = tails.length * chunk;
        final long aloneRate = Math.round(tokens / (alone.medianMs() / 1e3));
        final long batchedRate = Math.round(tokens / (batched.medianMs() / 1e3));
        rows.add(JSON.valueToTree(new BenchJson.CausalBatchRow(sequences, chunks, prefix, chunk,
                round(alone.medianMs()), round(batched.medianMs()), aloneRate, batchedRate,
                round(alone.medianMs() / batched.medianMs()))));
        out.printf("  %9d %6d %6d %6d %14.3f %11.3f %17d %15d %7.1fx%n", sequences, chunks, prefix, chunk,
                alone.medianMs(), batched.medianMs(), aloneRate, batchedRate, alone.medianMs() / batched.medianMs());
    }

    private static KvCache[] copies(final KvCache[] caches) {
        final KvCache[] out = new KvCache[caches.length];
        for (int i = 0; i < caches.length; i++) {
            out[i] = caches[i].copy();
        }
        return out;
    }

    /** A few forwards of middling length first, so the first row does not pay for JIT and native warm-up. */
    private void warmUp(final BertModel model) {
        final int n = Math.min(128, model.config().maxPositionEmbeddings());
        final int[] t = tokens(model.config().vocabSize(), n, 5);
        final long until = System.nanoTime() + sizes.budgetMs() * 1_000_000L;
        for (int i = 0; i < 3 || System.nanoTime() < until; i++) {
            model.encode(t, Pooling.MEAN, true);
        }
    }

    /** Deterministic token ids in the ordinary WordPiece word range. */
    static int[] tokens(final int vocab, final int n, final long seed) {
        final SplittableRandom random = new SplittableRandom(seed);
        final int base = Math.min(1000, vocab / 2);
        final int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = base + random.nextInt(vocab - base);
        }
        return t;
    }

    // ---------------------------------------------------------------- end to end

    /**
     * An in-JVM broker; the same N single-chunk TokenChunk records (a) produced to a plain topic and consumed back
     * (read_committed): raw Kafka pass-through; (b) produced to {@code tokens} with the seqembed topology running
     * (attention mode encoder), until every dense embedding has been consumed (read_committed). Each phase first
     * sends a small warm-up batch and waits for it, then times from the first send to the last record received.
     */
    public ObjectNode endToEnd(final Models models) throws Exception {
        final int n = sizes.e2eSequences();
        final int length = sizes.e2eLength();
        final int warm = Math.max(10, n / 20);
        final int vocab = models.dense().config().vocabSize();
        final long tokens = (long) n * length;
        final long densePerSeq = models.dense().config().windowCount(length);
        out.printf("%n== end to end: %d sequences x %d tokens (one chunk each), in-JVM broker, 2 partitions%n", n, length);
        final AvroSerde<TokenChunk> serde = RecordSerdes.tokenChunk();
        final List<Rec> warmRecords = records(serde, warm, length, vocab, "bench-warm-", 1);
        final List<Rec> timedRecords = records(serde, n, length, vocab, "bench-", 2);
        final ScratchStateDir stateDir = new ScratchStateDir("seqembed-bench-state-");
        final ObjectNode node = JSON.createObjectNode();
        node.put("sequences", n);
        node.put("tokens_per_sequence", length);
        node.put("tokens", tokens);
        try (stateDir; EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0, null)) {
            final SeqembedConfig config = SeqembedConfig.from(Map.of(
                    "bootstrap.servers", broker.bootstrapServers(),
                    StreamsConfig.APPLICATION_ID_CONFIG, "seqembed-bench",
                    StreamsConfig.STATE_DIR_CONFIG, stateDir.path().toString(),
                    SeqembedConfig.ATTENTION_MODE, AttentionMode.ENCODER.cliName(),
                    SeqembedConfig.TOPIC_PARTITIONS, "2",
                    SeqembedConfig.HTTP_PORT, "0"));
            final String passthrough = "bench.passthrough";
            broker.createTopics(List.of(new NewTopic(passthrough, 2, (short) 1)));

            // (a) raw pass-through
            final OutputWatch raw = new OutputWatch(config, List.of(passthrough));
            try (raw) {
                raw.run(passthrough, warmRecords, List.of((long) warm), 60_000);
                final long[] nanos = raw.run(passthrough, timedRecords, List.of((long) n), sizes.e2eTimeoutMs());
                final double s = nanos[0] / 1e9;
                node.put("passthrough_seconds", round(s));
                node.put("passthrough_tokens_per_s", nanos[0] > 0 ? Math.round(tokens / s) : 0);
                node.put("passthrough_records_per_s", nanos[0] > 0 ? Math.round(n / s) : 0);
                out.printf("  raw pass-through   %8.3f s  %12.0f tokens/s  %10.0f records/s%n", s, tokens / s, n / s);
            }

            // (b) the seqembed topology
            final long t0 = System.nanoTime();
            try (SeqembedApp app = SeqembedApp.start(config, models)) {
                if (!app.awaitRunning(Duration.ofSeconds(60))) {
                    throw new IllegalStateException("the processor did not reach RUNNING: " + app.state());
                }
                out.printf("  processor running after %.1f s%n", (System.nanoTime() - t0) / 1e9);
                final List<String> topics = List.of(config.topicEmbeddingsDense(), config.topicEmbeddingsAttention());
                try (OutputWatch phase = new OutputWatch(config, topics)) {
                    phase.run(config.topicTokens(), warmRecords, List.of(warm * densePerSeq, (long) warm), 120_000);
                    final long[] nanos = phase.run(config.topicTokens(), timedRecords,
                            List.of(n * densePerSeq, (long) n), sizes.e2eTimeoutMs());
                    final double dense = nanos[0] / 1e9;
                    final double attention = nanos[1] / 1e9;
                    final boolean complete = nanos[0] > 0 && nanos[1] > 0;
                    node.put("complete", complete);
                    node.put("dense_embeddings", n * densePerSeq);
                    node.put("dense_seconds", round(dense));
                    node.put("dense_tokens_per_s", nanos[0] > 0 ? Math.round(tokens / dense) : 0);
                    node.put("attention_seconds", round(attention));
                    node.put("attention_tokens_per_s", nanos[1] > 0 ? Math.round(tokens / attention) : 0);
                    final double ratio = node.get("passthrough_tokens_per_s").asDouble() > 0
                            ? node.get("dense_tokens_per_s").asDouble() / node.get("passthrough_tokens_per_s").asDouble()
                            : 0;
                    node.put("dense_to_passthrough_ratio", round(ratio));
                    node.put("stream_threads", config.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG));
                    node.put("processing_guarantee", config.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
                    out.printf("  seqembed dense     %8.3f s  %12.0f tokens/s  (%d dense embeddings; %.1f%% of "
                            + "pass-through)%n", dense, tokens / dense, n * densePerSeq, 100 * ratio);
                    out.printf("  seqembed attention %8.3f s  %12.0f tokens/s  (encoder, %d embeddings, same run)%n",
                            attention, tokens / attention, n);
                    if (!complete) {
                        out.println("  NOT COMPLETE: not every embedding arrived within "
                                + sizes.e2eTimeoutMs() / 1000 + " s");
                    }
                }
            }
        }
        return node;
    }

    private static List<Rec> records(final AvroSerde<TokenChunk> serde, final int count, final int length,
                                     final int vocab, final String prefix, final long seed) {
        final List<Rec> out = new ArrayList<>(count);
        for (final SequenceInput s : SyntheticWorkload.generate(count, length, length, vocab, seed, prefix)) {
            out.add(new Rec(s.sequenceId(), serde.encode(s.toChunks(0).get(0)), s.tokens().length));
        }
        return out;
    }

    static double round(final double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return 0;
        }
        final double scale = Math.abs(v) >= 100 ? 10 : Math.abs(v) >= 1 ? 1000 : 1_000_000;
        return Math.round(v * scale) / scale;
    }
}
