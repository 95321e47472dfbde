package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.client.TokenProducer;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.Chunks;

/**
 * Issue 10.8, a soak (not in CI): tens of thousands of causal sequences that never finish (one 16-token chunk,
 * {@code last = false}), with the default models and a short {@code state.idle-timeout}, against one
 * {@code java -jar seqembed.jar run}. Every sequence is evicted; resident memory, heap, the shared RocksDB cache and
 * the state store size are sampled and printed, so one sees whether they stay flat.
 *
 * <pre>mvn -B -pl processor verify -Dit.test=MemorySoakIT -Dseqembed.soak=true [-Dseqembed.soak.sequences=30000]
 *     [-Dseqembed.soak.args="-D rocksdb.memory-bytes=134217728"]</pre>
 */
class MemorySoakIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final int WAVE = 2_500;
    private static final long IDLE_TIMEOUT_MS = 15_000;

    @TempDir
    Path dir;

    @Test
    void neverFinishedSequencesKeepMemoryFlat() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("seqembed.soak"), "soak: run with -Dseqembed.soak=true");
        final int total = Integer.getInteger("seqembed.soak.sequences", 30_000);
        final String id = UUID.randomUUID().toString().substring(0, 8);
        final List<String> args = new ArrayList<>(List.of("--bootstrap-servers", KAFKA.bootstrapServers(),
                "--application-id", "soak-" + id, "--attention-mode", "causal",
                "-D", "topic.tokens=tokens-" + id, "-D", "topic.dlq=dlq-" + id, "-D", "topic.windows=windows-" + id,
                "-D", "topic.embeddings.dense=dense-" + id, "-D", "topic.embeddings.attention=attention-" + id,
                "-D", "state.idle-timeout=" + IDLE_TIMEOUT_MS));
        final String extra = System.getProperty("seqembed.soak.args", "").trim();
        if (!extra.isEmpty()) {
            args.addAll(Arrays.asList(extra.split("\\s+")));
        }
        final ProcessorProcess run = ProcessorProcess.of("soak", dir, args).start();
        try {
            run.awaitReady(Duration.ofSeconds(180));
            final long pid = pid(run);
            System.out.println("MemorySoakIT: t_s rss_mb heap_used_mb rocksdb_cache_mb state_dense_mb "
                    + "state_attention_mb sent evicted");
            final long t0 = System.nanoTime();
            sample(run, pid, t0, 0);
            final Properties client = new Properties();
            client.put("bootstrap.servers", KAFKA.bootstrapServers());
            final Random random = new Random(42);
            int sent = 0;
            try (TokenProducer producer = new TokenProducer(client, "tokens-" + id)) {
                while (sent < total) {
                    for (int i = 0; i < WAVE && sent < total; i++, sent++) {
                        final String key = "open-" + sent;
                        producer.sendRaw(key, RecordSerdes.tokenChunk().encode(Chunks.chunk(key, 0,
                                random.ints(16, 1000, 30000).toArray(), false)));
                    }
                    producer.flush();
                    Thread.sleep(5_000);
                    sample(run, pid, t0, sent);
                }
            }
            // The validator evicts on the ingest side; the attention path, slower, frees its KV caches when it
            // reaches the eviction events: wait until it has computed every sequence's chunk as well.
            final long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
            double evicted = 0;
            while (System.nanoTime() < deadline && (evicted < total || attention(run) < total)) {
                Thread.sleep(5_000);
                evicted = sample(run, pid, t0, sent);
            }
            for (int i = 0; i < 6; i++) {
                Thread.sleep(5_000);
                sample(run, pid, t0, sent);
            }
            assertThat(evicted).as("every never-finished sequence evicted").isEqualTo(total);
        } finally {
            run.stop();
        }
    }

    /** Prints one line of figures; returns the evicted count. */
    private static double sample(final ProcessorProcess run, final long pid, final long t0, final int sent)
            throws Exception {
        final String metrics = run.get("/metrics").body();
        final double evicted = metric(metrics, "seqembed_sequences_evicted_total");
        System.out.printf("MemorySoakIT: %5d %7.0f %7.0f %7.0f %7.0f %7.0f %6d %6.0f%n",
                (System.nanoTime() - t0) / 1_000_000_000L, rssKb(pid) / 1024.0,
                sumMetric(metrics, "jvm_memory_used_bytes{area=\"heap\"") / 1e6,
                metric(metrics, "seqembed_rocksdb_cache_bytes") / 1e6,
                metric(metrics, "seqembed_state_store_bytes{path=\"dense\"}") / 1e6,
                metric(metrics, "seqembed_state_store_bytes{path=\"attention\"}") / 1e6, sent, evicted);
        return evicted;
    }

    private static double attention(final ProcessorProcess run) throws Exception {
        return metric(run.get("/metrics").body(), "seqembed_embeddings_total{path=\"attention\"}");
    }

    private static double metric(final String metrics, final String name) {
        final Matcher m = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})? ([0-9.eE+-]+)$",
                Pattern.MULTILINE).matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(2)) : Double.NaN;
    }

    private static double sumMetric(final String metrics, final String prefix) {
        double sum = 0;
        for (final String line : metrics.split("\n")) {
            if (line.startsWith(prefix)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    private static long rssKb(final long pid) throws Exception {
        for (final String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static long pid(final ProcessorProcess run) {
        return run.pid();
    }
}
