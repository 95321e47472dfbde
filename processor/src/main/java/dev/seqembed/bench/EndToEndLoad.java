package dev.seqembed.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.seqembed.bench.OutputWatch.Rec;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.broker.EmbeddedKafkaBroker;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.platform.BlasKernel;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.runtime.ScratchStateDir;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.topology.Models;

/**
 * {@code bench --e2e} (issue 8, SPEC §10.7): the processor under sustained load on an in-JVM broker, against an
 * identity exactly-once Kafka Streams app carrying the same records on the same broker.
 *
 * <p>Phases, each on its own topics and application.id, one after the other so they do not share the cores:
 * <ol>
 *   <li>pass-through: the identity app, all records sent at full speed, until the last is read back;</li>
 *   <li>ingest only: the ingest client alone (validation, windows, dense), the same records at full speed;</li>
 *   <li>both paths at full speed: the same records again, with the attention client running;</li>
 *   <li>half rate: fresh sequences sent at half the slower path's full-speed tokens/s; end-to-end latency of
 *       every embedding as a read_committed consumer sees it (receive time minus the input record's timestamp,
 *       which the outputs keep).</li>
 * </ol>
 * Optionally ({@code warmUpSeconds}) both paths first run on throw-away sequences, so that the JVM is warm.
 * Each phase first sends a small warm-up set and waits for it. A path's tokens/s is the run's input tokens over
 * the time from the first send to that path's last embedding read; its compute utilisation is the sum of its
 * records' {@code compute_nanos} over that same time.
 */
public final class EndToEndLoad {

    /**
     * Run sizes.
     *
     * @param tokens input tokens of a full-speed run (at least)
     * @param minLength shortest sequence
     * @param maxLength longest sequence
     * @param chunk tokens per TokenChunk
     * @param warmSequences sequences of each phase's warm-up
     * @param halfRateSeconds length of the half-rate run
     * @param timeoutMs how long a run may take before it is reported incomplete
     * @param warmUpSeconds how long both paths run on throw-away sequences before the first phase (0: not at all)
     */
    public record Sizes(long tokens, int minLength, int maxLength, int chunk, int warmSequences, int halfRateSeconds,
                        long timeoutMs, int warmUpSeconds) {

        /** Issue 8's workload: ≥ N tokens of 16–240-token sequences in chunks of 64, after S seconds of warm-up. */
        public static Sizes of(final long tokens, final int warmUpSeconds) {
            return new Sizes(tokens, 16, 240, 64, 200, 30, 900_000, warmUpSeconds);
        }
    }

    private final Sizes sizes;
    private final SeqembedConfig settings;
    private final PrintStream out;

    /**
     * @param settings settings layered over the processor's defaults for the seqembed phases (the bench sets the
     *                 broker, application ids, topics and state directory itself)
     */
    public EndToEndLoad(final Sizes sizes, final SeqembedConfig settings, final PrintStream out) {
        this.sizes = sizes;
        this.settings = settings;
        this.out = out;
    }

    /** Runs all phases on a fresh in-JVM broker; returns the {@code e2e} JSON object. */
    public ObjectNode run(final Models models) throws Exception {
        final WindowMlpConfig dense = models.dense().config();
        final int vocab = Math.min(dense.vocabSize(), models.attention().config().vocabSize());
        final AvroSerde<TokenChunk> serde = RecordSerdes.tokenChunk();
        final Workload warm = Workload.of(serde, dense, vocab, sizes, sizes.warmSequences(), 0, "warm-", 11);
        final Workload load = Workload.of(serde, dense, vocab, sizes, 0, sizes.tokens(), "load-", 12);
        final ObjectNode node = Bench.JSON.createObjectNode();
        node.put("tokens", load.tokens);
        node.put("sequences", load.sequences);
        node.put("chunks", load.records.size());
        node.put("dense_windows", load.windows);
        node.put("min_length", sizes.minLength());
        node.put("max_length", sizes.maxLength());
        node.put("chunk", sizes.chunk());
        out.printf("%n== end to end under load: %,d tokens, %,d sequences of %d-%d tokens in %,d chunks of <= %d, "
                        + "in-JVM broker%n", load.tokens, load.sequences, sizes.minLength(), sizes.maxLength(),
                load.records.size(), sizes.chunk());
        try (ScratchStateDir stateDir = new ScratchStateDir("seqembed-bench-e2e-");
             EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0, null)) {
            final SeqembedConfig base = settings
                    .with("bootstrap.servers", broker.bootstrapServers())
                    .with(StreamsConfig.STATE_DIR_CONFIG, stateDir.path().toString())
                    .with(SeqembedConfig.HTTP_PORT, "0");
            describe(node, base);
            warmUp(node, base, models, serde, dense, vocab);

            passThrough(node, base, broker, warm, load);

            final SeqembedConfig ingestOnly = phaseConfig(base, "seqembed-bench-ingest", "ingest-only.")
                    .with("role", "ingest");
            final ObjectNode ingest = node.putObject("ingest_only");
            try (Processor p = Processor.start(ingestOnly, models, out, false)) {
                p.warm(warm, sizes.timeoutMs());
                final Paths full = p.full(load, "ingest only, full speed", sizes.timeoutMs());
                ingest.put("produce_tokens_per_s", Math.round(full.produceTokensPerS(load)));
                ingest.put("dense_tokens_per_s", Math.round(full.dense.tokensPerS(load.tokens)));
                ingest.put("dense_windows_per_s", Math.round(full.dense.recordsPerS()));
                ingest.put("dense_compute_utilisation", Bench.round(full.dense.utilisation()));
                ingest.put("cpu_us_per_token", Bench.round(full.cpuMicrosPerToken(load)));
                ingest.put("complete", full.dense.complete());
            }

            final SeqembedConfig both = phaseConfig(base, "seqembed-bench", "");
            try (Processor p = Processor.start(both, models, out, true)) {
                p.warm(warm, sizes.timeoutMs());
                final Paths full = p.full(load, "both paths, full speed", sizes.timeoutMs());
                node.put("produce_tokens_per_s", Math.round(full.produceTokensPerS(load)));
                node.put("dense_tokens_per_s", Math.round(full.dense.tokensPerS(load.tokens)));
                node.put("attention_tokens_per_s", Math.round(full.attention.tokensPerS(load.tokens)));
                node.put("dense_windows_per_s", Math.round(full.dense.recordsPerS()));
                node.put("attention_embeddings_per_s", Math.round(full.attention.recordsPerS()));
                node.put("dense_compute_utilisation", Bench.round(full.dense.utilisation()));
                node.put("attention_compute_utilisation", Bench.round(full.attention.utilisation()));
                node.put("dense_to_produce_ratio", Bench.round(full.dense.tokensPerS(load.tokens)
                        / full.produceTokensPerS(load)));
                node.put("dense_to_passthrough_ratio", Bench.round(full.dense.tokensPerS(load.tokens)
                        / node.path("passthrough_tokens_per_s").asDouble()));
                node.put("cpu_us_per_token", Bench.round(full.cpuMicrosPerToken(load)));
                node.put("complete", full.dense.complete() && full.attention.complete());

                final double rate = 0.5 * Math.min(full.dense.tokensPerS(load.tokens),
                        full.attention.tokensPerS(load.tokens));
                halfRate(node.putObject("half_rate"), p, serde, dense, vocab, rate);
            }
            node.put("load_average_end", Bench.round(loadAverage()));
            out.printf("  machine load average (1 min): %.1f at the start, %.1f at the end, %d cores%n",
                    node.get("load_average_start").asDouble(), loadAverage(),
                    Runtime.getRuntime().availableProcessors());
        }
        return node;
    }

    /**
     * Both paths on fresh sequences for {@code warmUpSeconds}, results discarded. The broker, the identity app and
     * the processor share this JVM, and its JIT compiler took a quarter of the CPU of a whole 1M-token run and a
     * third of a 300k one (per-thread CPU from /proc), still compiling Kafka's code at the end: the phases then
     * measure a process still warming up. After this warm-up they measure one closer to a long-running one.
     */
    private void warmUp(final ObjectNode node, final SeqembedConfig base, final Models models,
                        final AvroSerde<TokenChunk> serde, final WindowMlpConfig dense, final int vocab)
            throws Exception {
        node.put("warm_up_seconds", sizes.warmUpSeconds());
        if (sizes.warmUpSeconds() <= 0) {
            return;
        }
        out.printf("  warm-up: both paths on throw-away sequences for %d s%n", sizes.warmUpSeconds());
        final long until = System.nanoTime() + sizes.warmUpSeconds() * 1_000_000_000L;
        try (Processor p = Processor.start(phaseConfig(base, "seqembed-bench-warm-up", "warm-up."), models, out,
                true)) {
            int round = 0;
            do { // at least one round: starting the processor may take longer than a short warm-up
                round++;
                final Workload w = Workload.of(serde, dense, vocab, sizes, 0, Math.min(sizes.tokens(), 200_000),
                        "warm-up-" + round + "-", 100 + round);
                p.full(w, "warm-up round " + round, sizes.timeoutMs());
            } while (System.nanoTime() < until);
        }
    }

    private void describe(final ObjectNode node, final SeqembedConfig config) {
        node.put("partitions", config.topicPartitions());
        node.put("stream_threads", config.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG));
        node.put("native_threads", BlasKernel.nativeThreads());
        node.put("processing_guarantee", config.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
        node.put("commit_interval_ms", config.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG) != null
                ? config.get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG) : "default");
        node.put("dense_batch_max_windows", config.denseBatchMaxWindows());
        node.put("attention_mode", config.attentionMode().name().toLowerCase(java.util.Locale.ROOT));
        node.put("attention_batch_max_tokens", config.attentionBatchMaxTokens());
        // Other processes on the machine shift every figure: the 1-minute load average says how busy it was.
        node.put("load_average_start", Bench.round(loadAverage()));
        out.printf("  %d partitions, %s stream thread(s) per client, %s native thread(s), %s, commit.interval.ms %s, "
                        + "attention %s (micro-batch up to %d tokens)%n",
                config.topicPartitions(), node.get("stream_threads").asText(), node.get("native_threads").asText(),
                node.get("processing_guarantee").asText(), node.get("commit_interval_ms").asText(),
                node.get("attention_mode").asText(), config.attentionBatchMaxTokens());
    }

    /** An identity exactly-once Kafka Streams app between two topics: what Kafka alone costs these records. */
    private void passThrough(final ObjectNode node, final SeqembedConfig base, final EmbeddedKafkaBroker broker,
                             final Workload warm, final Workload load) throws Exception {
        final String in = "bench.passthrough.in";
        final String outTopic = "bench.passthrough.out";
        broker.createTopics(List.of(new NewTopic(in, base.topicPartitions(), (short) 1),
                new NewTopic(outTopic, base.topicPartitions(), (short) 1)));
        final Topology identity = new Topology();
        identity.addSource("in", new ByteArrayDeserializer(), new ByteArrayDeserializer(), in);
        identity.addSink("out", outTopic, new ByteArraySerializer(), new ByteArraySerializer(), "in");
        final Properties props = base.streamsProperties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "seqembed-bench-passthrough");
        try (KafkaStreams streams = new KafkaStreams(identity, props);
             OutputWatch watch = new OutputWatch(base, List.of(outTopic))) {
            streams.start();
            watch.run(in, warm.records, List.of((long) warm.records.size()), sizes.timeoutMs());
            out.println("  pass-through (identity exactly-once Streams app), full speed:");
            final OutputWatch.Result r = watch.run(in, load.records, List.of((long) load.records.size()),
                    sizes.timeoutMs(), 0, out);
            final double s = r.topicNanos()[0] / 1e9;
            node.put("passthrough_tokens_per_s", r.complete() ? Math.round(load.tokens / s) : 0);
            node.put("passthrough_records_per_s", r.complete() ? Math.round(load.records.size() / s) : 0);
            out.printf("  pass-through        %8.2f s  %10.0f tokens/s  %9.0f records/s  (producer alone %.0f "
                    + "tokens/s)%n", s, load.tokens / s, load.records.size() / s, load.tokens * 1e9 / r.produceNanos());
            streams.close(Duration.ofSeconds(30));
        }
    }

    private void halfRate(final ObjectNode node, final Processor p, final AvroSerde<TokenChunk> serde,
                          final WindowMlpConfig dense, final int vocab, final double rate) throws Exception {
        final Workload half = Workload.of(serde, dense, vocab, sizes, sizes.warmSequences(),
                Math.max(1, (long) (rate * sizes.halfRateSeconds())), "half-", 13);
        node.put("tokens_per_s", Math.round(rate));
        node.put("tokens", half.tokens);
        node.put("sequences", half.sequences);
        node.put("chunks", half.records.size());
        out.printf("  half rate: %,d tokens at %.0f tokens/s (half the slower path's full speed)%n", half.tokens, rate);
        final Paths r = p.run(half, rate, sizes.timeoutMs());
        node.put("complete", r.dense.complete() && r.attention.complete());
        for (final PathStats s : List.of(r.dense, r.attention)) {
            final ObjectNode path = node.putObject(s.name);
            path.put("p50_ms", s.percentileMs(0.50));
            path.put("p99_ms", s.percentileMs(0.99));
            path.put("max_ms", s.percentileMs(1.0));
            path.put("records", s.records);
            path.put("expected", s.expected);
            out.printf("  half rate %-9s  p50 %6d ms  p99 %6d ms  max %6d ms  (%,d embeddings, read_committed)%n",
                    s.name, s.percentileMs(0.50), s.percentileMs(0.99), s.percentileMs(1.0), s.records);
        }
    }

    static double loadAverage() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /** CPU time of this JVM so far (all threads: processor, broker, bench); 0 where the platform does not say. */
    static long processCpuNanos() {
        final java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? Math.max(0, sun.getProcessCpuTime()) : 0;
    }

    /** The base settings with this phase's application.id and topic names (prefixed, so phases never mix). */
    private static SeqembedConfig phaseConfig(final SeqembedConfig base, final String applicationId,
                                              final String topicPrefix) {
        SeqembedConfig c = base.with(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        for (final String key : List.of(SeqembedConfig.TOPIC_TOKENS, SeqembedConfig.TOPIC_DLQ,
                SeqembedConfig.TOPIC_WINDOWS, SeqembedConfig.TOPIC_EMBEDDINGS_DENSE,
                SeqembedConfig.TOPIC_EMBEDDINGS_ATTENTION)) {
            c = c.with(key, topicPrefix + base.get(key));
        }
        return c;
    }

    /** Records to send and what they should produce. */
    private record Workload(List<Rec> records, long tokens, int sequences, long windows) {

        /** At least {@code count} sequences and at least {@code tokens} tokens. */
        static Workload of(final AvroSerde<TokenChunk> serde, final WindowMlpConfig dense, final int vocab,
                           final Sizes sizes, final int count, final long tokens, final String prefix,
                           final long seed) {
            final List<Rec> records = new ArrayList<>();
            long total = 0;
            long windows = 0;
            int sequences = 0;
            // Generated in slices of 1,000 sequences from consecutive seeds until both minimums are met.
            for (int slice = 0; sequences < count || total < tokens; slice++) {
                for (final SequenceInput s : SyntheticWorkload.generate(1000, sizes.minLength(), sizes.maxLength(),
                        vocab, seed * 1_000_003L + slice, prefix + slice + "-")) {
                    if (sequences >= count && total >= tokens) {
                        break;
                    }
                    for (final TokenChunk c : s.toChunks(sizes.chunk())) {
                        records.add(new Rec(s.sequenceId(), serde.encode(c), c.getTokens().size()));
                    }
                    total += s.tokens().length;
                    windows += dense.windowCount(s.tokens().length);
                    sequences++;
                }
            }
            return new Workload(records, total, sequences, windows);
        }
    }

    /** One path's embeddings in a run: count, summed compute and, at half rate, each one's latency. */
    private static final class PathStats {
        final String name;
        final long expected;
        long records;
        long computeNanos;
        long nanos;
        long[] latenciesMs = new long[1024];

        PathStats(final String name, final long expected) {
            this.name = name;
            this.expected = expected;
        }

        void add(final long computeNanos, final long latencyMs) {
            if (records == latenciesMs.length) {
                latenciesMs = Arrays.copyOf(latenciesMs, latenciesMs.length * 2);
            }
            latenciesMs[(int) records++] = latencyMs;
            this.computeNanos += computeNanos;
        }

        boolean complete() {
            return nanos > 0;
        }

        double tokensPerS(final long tokens) {
            return nanos > 0 ? tokens * 1e9 / nanos : 0;
        }

        double recordsPerS() {
            return nanos > 0 ? expected * 1e9 / nanos : 0;
        }

        double utilisation() {
            return nanos > 0 ? (double) computeNanos / nanos : 0;
        }

        long percentileMs(final double q) {
            if (records == 0) {
                return 0;
            }
            final long[] sorted = Arrays.copyOf(latenciesMs, (int) records);
            Arrays.sort(sorted);
            return sorted[(int) Math.min(records - 1, Math.max(0, Math.ceil(q * records) - 1))];
        }
    }

    /** Both paths' figures of one run. */
    private record Paths(long produceNanos, long cpuNanos, PathStats dense, PathStats attention) {
        double produceTokensPerS(final Workload w) {
            return w.tokens * 1e9 / produceNanos;
        }

        /** CPU time of the whole process (broker and bench consumer included) per input token. */
        double cpuMicrosPerToken(final Workload w) {
            return cpuNanos / 1e3 / w.tokens;
        }
    }

    /** A seqembed instance and the consumer watching its output topics for the length of a phase. */
    private static final class Processor implements AutoCloseable {
        private final SeqembedConfig config;
        private final SeqembedApp app;
        private final OutputWatch watch;
        private final PrintStream out;
        private final boolean attention;
        private volatile PathStats denseStats = new PathStats("dense", 0);
        private volatile PathStats attentionStats = new PathStats("attention", 0);

        private Processor(final SeqembedConfig config, final SeqembedApp app, final PrintStream out,
                          final boolean attention) throws InterruptedException {
            this.config = config;
            this.app = app;
            this.out = out;
            this.attention = attention;
            final EmbeddingComputeNanos embeddings = new EmbeddingComputeNanos();
            final List<String> topics = attention
                    ? List.of(config.topicEmbeddingsDense(), config.topicEmbeddingsAttention())
                    : List.of(config.topicEmbeddingsDense());
            this.watch = new OutputWatch(config, topics, (topic, record, receivedAtMs) -> {
                final long nanos = computeNanos(embeddings, record);
                (topic == 0 ? denseStats : attentionStats).add(nanos, receivedAtMs - record.timestamp());
            });
        }

        static Processor start(final SeqembedConfig config, final Models models, final PrintStream out,
                               final boolean attention) throws Exception {
            final long t0 = System.nanoTime();
            final SeqembedApp app = SeqembedApp.start(config, models);
            if (!app.awaitRunning(Duration.ofSeconds(60))) {
                app.close();
                throw new IllegalStateException("the processor did not reach RUNNING: " + app.state());
            }
            out.printf("  processor %s running after %.1f s%n", config.applicationId(), (System.nanoTime() - t0) / 1e9);
            return new Processor(config, app, out, attention);
        }

        private static long computeNanos(final EmbeddingComputeNanos reader, final ConsumerRecord<byte[], byte[]> r) {
            try {
                return reader.of(r.value());
            } catch (final IOException e) {
                throw new IllegalStateException("not an Embedding on " + r.topic(), e);
            }
        }

        void warm(final Workload w, final long timeoutMs) throws InterruptedException {
            run(w, 0, timeoutMs);
        }

        Paths full(final Workload w, final String label, final long timeoutMs) throws InterruptedException {
            out.println("  " + label + ":");
            final Paths r = run(w, 0, timeoutMs);
            out.printf("  %-19s %8.2f s  %10.0f tokens/s  (process CPU %.1f µs per token, all threads)%n", "produce",
                    r.produceNanos / 1e9, r.produceTokensPerS(w), r.cpuMicrosPerToken(w));
            for (final PathStats s : attention ? List.of(r.dense, r.attention) : List.of(r.dense)) {
                out.printf("  %-19s %8.2f s  %10.0f tokens/s  %9.0f %s/s  compute %5.1f%% of wall time%s%n",
                        s.name, s.nanos / 1e9, s.tokensPerS(w.tokens), s.recordsPerS(),
                        s.name.equals("dense") ? "windows" : "embeddings", 100 * s.utilisation(),
                        s.complete() ? "" : "  NOT COMPLETE");
            }
            return r;
        }

        Paths run(final Workload w, final double tokensPerSecond, final long timeoutMs)
                throws InterruptedException {
            // Swapped while no embeddings are in flight: the previous run has received all of its own.
            denseStats = new PathStats("dense", w.windows);
            // Encoder mode embeds a sequence once; causal mode every chunk (SPEC §3).
            final long embeddings = config.attentionMode() == AttentionMode.CAUSAL ? w.records.size() : w.sequences;
            attentionStats = new PathStats("attention", embeddings);
            final List<Long> expected = attention ? List.of(w.windows, embeddings) : List.of(w.windows);
            final long cpu0 = processCpuNanos();
            final OutputWatch.Result r = watch.run(config.topicTokens(), w.records, expected, timeoutMs,
                    tokensPerSecond, tokensPerSecond > 0 || w.tokens > 100_000 ? out : null);
            final long cpuNanos = processCpuNanos() - cpu0;
            denseStats.nanos = r.topicNanos()[0];
            if (attention) {
                attentionStats.nanos = r.topicNanos()[1];
            }
            if (app.failed()) {
                throw new IllegalStateException("the processor failed: " + app.state());
            }
            return new Paths(r.produceNanos(), cpuNanos, denseStats, attentionStats);
        }

        @Override
        public void close() throws InterruptedException {
            try {
                watch.close();
            } finally {
                app.close();
            }
        }
    }
}
