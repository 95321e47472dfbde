package dev.seqembed.demo;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.StreamsConfig;

import dev.seqembed.avro.TokenChunk;
import dev.seqembed.broker.EmbeddedKafkaBroker;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.platform.NativeSetup;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.runtime.ScratchStateDir;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.topology.Models;

/**
 * The demo: everything in one JVM: a KRaft broker, the processor, a workload of variable-length sequences
 * (some in several chunks, a few deliberately bad), progress, and a summary of what each path cost.
 */
public final class Demo {

    /**
     * What to run.
     *
     * @param mode attention mode
     * @param sequences sequences to produce ({@link Integer#MAX_VALUE}: until {@code seconds} elapse)
     * @param seconds stop producing after this many seconds (null: no limit)
     * @param maxLen longest sequence
     * @param chunk chunk size of the multi-chunk third of the sequences
     * @param rate sequences per second (0: all at once)
     * @param httpPort port of /metrics while the demo runs (0: off)
     */
    public record Settings(AttentionMode mode, int sequences, Integer seconds, int maxLen, int chunk, int rate,
                           int httpPort) {
    }

    private static final int BATCH = 5;
    private static final long DRAIN_MS = 60_000;

    private final Settings settings;

    public Demo(final Settings settings) {
        this.settings = settings;
    }

    /**
     * Runs the demo and prints to {@code out}.
     *
     * @return 0 when every expected result arrived, 1 otherwise
     */
    public int run(final PrintStream out) throws Exception {
        final AttentionMode mode = settings.mode();
        final int target = settings.sequences();
        final long t0 = System.nanoTime();
        out.println("seqembed demo: starting an in-JVM Kafka broker ...");
        try (ScratchStateDir stateDir = new ScratchStateDir("seqembed-demo-state-");
             EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0, null)) {
            out.printf("broker ready at %s (%.1f s); loading models ...%n", broker.bootstrapServers(), since(t0));
            final SeqembedConfig config = SeqembedConfig.from(Map.of(
                    "bootstrap.servers", broker.bootstrapServers(),
                    StreamsConfig.APPLICATION_ID_CONFIG, "seqembed-demo",
                    StreamsConfig.STATE_DIR_CONFIG, stateDir.path().toString(),
                    SeqembedConfig.ATTENTION_MODE, mode.cliName(),
                    SeqembedConfig.TOPIC_PARTITIONS, "2",
                    SeqembedConfig.HTTP_PORT, String.valueOf(settings.httpPort())));
            NativeSetup.forProcessor(config);
            final Path modelRoot = ModelDirs.defaultModels();
            final Models models = Models.load(modelRoot.resolve("dense"), modelRoot.resolve("attention"));
            out.printf("dense model %s: %s%nattention model %s: %s, mode %s%n", models.dense().id(),
                    models.dense().config(), models.attention().id(), models.attention().config(), mode.cliName());
            try (SeqembedApp app = SeqembedApp.start(config, models)) {
                if (!app.awaitRunning(Duration.ofSeconds(60))) {
                    throw new IllegalStateException("the processor did not reach RUNNING: " + app.state());
                }
                out.printf("processor running (%.1f s); producing ...%n", since(t0));
                return runWorkload(config, models, mode, target, out);
            }
        }
    }

    private int runWorkload(final SeqembedConfig config, final Models models, final AttentionMode mode,
                            final int target, final PrintStream out) throws Exception {
        final DemoStats stats = new DemoStats();
        final AtomicBoolean running = new AtomicBoolean(true);
        final Thread reader = new Thread(() -> consume(config, stats, running), "demo-consumer");
        reader.start();
        final long start = System.nanoTime();
        final long produceUntil = settings.seconds() == null ? Long.MAX_VALUE : start + settings.seconds() * 1_000_000_000L;
        long expectedDense = 0;
        long expectedAttention = 0;
        int produced = 0;
        long lastProgress = System.nanoTime();
        try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
            final int vocab = models.dense().config().vocabSize();
            final int badRecords = sendBadRecords(producer, vocab);
            // One of the "bad" sequences starts valid and complete (its later chunk is the bad one).
            expectedDense += 1;
            expectedAttention += 1;
            while (produced < target && System.nanoTime() < produceUntil) {
                final int n = Math.min(BATCH, target - produced);
                for (final SequenceInput s : SyntheticWorkload.generate(n, 4, settings.maxLen(), vocab, produced, "seq-" + produced + "-")) {
                    // Every third sequence arrives in several chunks, as a streaming source would send it.
                    final int k = produced % 3 == 0 ? settings.chunk() : 0;
                    producer.send(s, k);
                    expectedDense += models.dense().config().windowCount(s.tokens().length);
                    expectedAttention += mode == AttentionMode.CAUSAL ? s.chunks(k).size() : 1;
                    produced++;
                }
                producer.flush();
                lastProgress = progress(out, start, lastProgress, producer.chunksSent(), stats, expectedDense,
                        expectedAttention, false);
                if (settings.rate() > 0) {
                    // Pace the workload: latency then shows a steady state, not the queue of one burst.
                    final long due = start + (long) (produced * 1e9 / settings.rate());
                    final long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                }
            }
            out.printf("produced %d sequences + %d bad records in %d chunks; waiting for the results ...%n",
                    produced, badRecords, producer.chunksSent());
            final long drainUntil = System.nanoTime() + DRAIN_MS * 1_000_000L;
            while (System.nanoTime() < drainUntil && (stats.denseCount() < expectedDense
                    || stats.attentionCount() < expectedAttention || stats.dlqCount() < badRecords)) {
                Thread.sleep(100);
                lastProgress = progress(out, start, lastProgress, producer.chunksSent(), stats, expectedDense,
                        expectedAttention, false);
            }
            progress(out, start, lastProgress, producer.chunksSent(), stats, expectedDense, expectedAttention, true);
            running.set(false);
            reader.join(10_000);
            stats.printSummary(out, producer.chunksSent(), since(start));
            stats.printCausal(out, n -> models.attention().config().flops(n, n));
            stats.printFirst(out);
            final boolean complete = stats.denseCount() >= expectedDense && stats.attentionCount() >= expectedAttention;
            if (!complete) {
                out.println("not all results arrived within " + DRAIN_MS / 1000 + " s of the last record");
            }
            return complete ? 0 : 1;
        } finally {
            running.set(false);
        }
    }

    /** One of each kind of bad input: each must land in the DLQ while the good records keep flowing. */
    private static int sendBadRecords(final TokenProducer producer, final int vocab) {
        final AvroSerde<TokenChunk> serde = RecordSerdes.tokenChunk();
        final List<byte[]> values = new ArrayList<>();
        final List<String> keys = new ArrayList<>();
        keys.add("bad-bytes");
        values.add("{\"not\": \"avro\"}".getBytes(StandardCharsets.UTF_8));
        keys.add("bad-empty");
        values.add(serde.encode(SequenceInput.chunk("bad-empty", 0, new int[0], true)));
        keys.add("bad-token");
        values.add(serde.encode(SequenceInput.chunk("bad-token", 0, new int[] {101, vocab + 5, 102}, true)));
        keys.add("some-other-key");
        values.add(serde.encode(SequenceInput.chunk("bad-key", 0, new int[] {101, 102}, true)));
        keys.add("bad-long");
        values.add(serde.encode(SequenceInput.chunk("bad-long", 0, new int[600], true)));
        keys.add("bad-order");
        values.add(serde.encode(SequenceInput.chunk("bad-order", 1, new int[] {101}, true)));
        keys.add("bad-after");
        values.add(serde.encode(SequenceInput.chunk("bad-after", 0, new int[] {101, 102}, true)));
        keys.add("bad-after");
        values.add(serde.encode(SequenceInput.chunk("bad-after", 1, new int[] {103}, true)));
        keys.add("bad-dup");
        values.add(serde.encode(SequenceInput.chunk("bad-dup", 0, new int[] {101, 102}, false)));
        keys.add("bad-dup");
        values.add(serde.encode(SequenceInput.chunk("bad-dup", 0, new int[] {101, 102}, false)));
        for (int i = 0; i < keys.size(); i++) {
            producer.sendRaw(keys.get(i), values.get(i));
        }
        // bad-after's first chunk and bad-dup's first chunk are valid: 8 of the 10 are dead letters.
        return keys.size() - 2;
    }

    private static long progress(final PrintStream out, final long start, final long last, final long chunksIn,
                                 final DemoStats stats, final long expectedDense, final long expectedAttention,
                                 final boolean force) {
        final long now = System.nanoTime();
        if (!force && now - last < 1_000_000_000L) {
            return last;
        }
        out.printf("  %5.1f s  in %6d chunks | dense %6d/%-6d | attention %5d/%-5d | dlq %d%n",
                (now - start) / 1e9, chunksIn, stats.denseCount(), expectedDense, stats.attentionCount(),
                expectedAttention, stats.dlqCount());
        return now;
    }

    private static void consume(final SeqembedConfig config, final DemoStats stats, final AtomicBoolean running) {
        final Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.get("bootstrap.servers"));
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "seqembed-demo-reader");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        final AvroSerde<dev.seqembed.avro.Embedding> serde = RecordSerdes.embedding();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(config.topicEmbeddingsDense(), config.topicEmbeddingsAttention(),
                    config.topicDlq()));
            while (running.get()) {
                for (final ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    if (r.topic().equals(config.topicDlq())) {
                        final Header h = r.headers().lastHeader(DeadLetter.HEADER_REASON);
                        stats.deadLetter(h == null ? "?" : new String(h.value(), StandardCharsets.UTF_8));
                        continue;
                    }
                    try {
                        stats.embedding(serde.decode(r.value()));
                    } catch (final IOException e) {
                        throw new IllegalStateException("unreadable embedding on " + r.topic(), e);
                    }
                }
            }
        }
    }

    private static double since(final long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
