package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.serde.RecordSerdes;

/**
 * What the tests of several {@code run} instances over shared partitions ({@link ScaleOutIT}, {@link RestoreTimeIT})
 * have in common: one application's arguments and topics, chunks sent a round at a time, the check against offline
 * {@code embed}, and the start-up figures the processor logs (time to RUNNING, restored store partitions).
 */
final class ScaleOutFixture {

    /** Partitions of every topic: enough for two or three instances to share. */
    static final int PARTITIONS = 4;

    private static final Pattern RUNNING = Pattern.compile(
            "processor RUNNING (\\d+) ms after its clients started, (\\d+) ms after the JVM started");
    private static final Pattern RESTORED = Pattern.compile("(?m)^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*? (\\w+) restored "
            + "(\\d+) records of (\\S+) \\(partition (\\d+)\\) in (-?\\d+) ms$");

    private ScaleOutFixture() {
    }

    /** A test's sequences, and the JSONL file offline {@code embed} reads them from. */
    record Workload(List<SequenceInput> sequences, Path input) {

        /** {@link SyntheticWorkload} sequences (seed 5), written to {@code dir/in.jsonl}. */
        static Workload generate(final Path dir, final int count, final int minLength, final int maxLength,
                                 final int vocabSize, final String prefix) throws IOException {
            final List<SequenceInput> sequences = SyntheticWorkload.generate(count, minLength, maxLength, vocabSize,
                    5, prefix);
            return new Workload(sequences, OfflineEmbed.writeJsonl(dir.resolve("in.jsonl"), sequences));
        }
    }

    /** The instances a test started; each test's are stopped (SIGTERM) after it. */
    static final class Instances implements AfterEachCallback {

        private final List<ProcessorProcess> started = new ArrayList<>();

        /** Keeps {@code p} to stop after the test; returns it. */
        ProcessorProcess add(final ProcessorProcess p) {
            started.add(p);
            return p;
        }

        List<ProcessorProcess> all() {
            return List.copyOf(started);
        }

        /** None of them died on its own (only {@code kill9} ends one, and it is started again). */
        void assertAllAlive() {
            for (final ProcessorProcess p : started) {
                assertThat(p.alive()).as(p.name + " still running").isTrue();
            }
        }

        @Override
        public void afterEach(final ExtensionContext context) throws Exception {
            for (final ProcessorProcess p : started) {
                p.stop();
            }
            started.clear();
        }
    }

    /**
     * The {@code run} arguments every instance of one application shares: its id, mode, models and topics named
     * after {@code id} ({@code tokens-<id>}, …), {@value #PARTITIONS} partitions.
     */
    static List<String> runArgs(final String bootstrap, final String applicationId, final String id,
                                final String mode, final Path models) {
        return new ArrayList<>(List.of("--bootstrap-servers", bootstrap,
                "--application-id", applicationId, "--attention-mode", mode,
                "--dense-model", models.resolve("dense").toString(),
                "--attention-model", models.resolve("attention").toString(),
                "-D", "topic.tokens=tokens-" + id, "-D", "topic.dlq=dlq-" + id, "-D", "topic.windows=windows-" + id,
                "-D", "topic.embeddings.dense=dense-" + id, "-D", "topic.embeddings.attention=attention-" + id,
                "-D", "topic.partitions=" + PARTITIONS, "-D", "dense.batch.max-wait-ms=50"));
    }

    /** Sends every sequence's chunk number {@code round} (those that have one) and flushes. */
    static void sendRound(final TokenProducer producer, final List<List<TokenChunk>> chunks, final int round) {
        for (final List<TokenChunk> cs : chunks) {
            if (round < cs.size()) {
                producer.sendRaw(cs.get(round).getSequenceId(), RecordSerdes.tokenChunk().encode(cs.get(round)));
            }
        }
        producer.flush();
    }

    /**
     * Reads both embeddings topics of the run {@code id} (read_committed) and asserts they hold exactly the
     * embeddings offline {@code embed} computes for {@code input}, each once.
     *
     * @return the attention and the dense embeddings checked
     */
    static int[] assertEqualsOffline(final String bootstrap, final String id, final Path input, final Path runDir,
                                     final String mode, final int chunk, final Path models, final Duration timeout)
            throws IOException {
        final String attentionModel = models.resolve("attention").toString();
        final List<Embedding> wantAttention = mode.equals("causal")
                ? OfflineEmbed.run(input, runDir, "--path", "attention", "--mode", "causal", "--chunk",
                        String.valueOf(chunk), "--model", attentionModel)
                : OfflineEmbed.run(input, runDir, "--path", "attention", "--model", attentionModel);
        final List<Embedding> wantDense = OfflineEmbed.run(input, runDir, "--path", "dense", "--model",
                models.resolve("dense").toString());
        final List<Embedding> gotAttention = EmbeddingReader.embeddings(bootstrap, "attention-" + id,
                wantAttention.size(), timeout);
        final List<Embedding> gotDense = EmbeddingReader.embeddings(bootstrap, "dense-" + id, wantDense.size(),
                timeout);
        StreamingEqualsOfflineIT.assertSameVectors(gotAttention, wantAttention, 0f);
        StreamingEqualsOfflineIT.assertSameVectors(gotDense, wantDense, 1e-6f);
        return new int[] {gotAttention.size(), gotDense.size()};
    }

    /** The processor's own time-to-RUNNING line: from its clients' start and from the JVM's. */
    record Running(long clientsMs, long jvmMs) {

        @Override
        public String toString() {
            return "clients " + clientsMs + " ms, JVM " + jvmMs + " ms";
        }
    }

    /** The last time-to-RUNNING line in a log, or null when there is none. */
    static Running lastRunning(final String log) {
        final Matcher m = RUNNING.matcher(log);
        Running last = null;
        while (m.find()) {
            last = new Running(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
        }
        return last;
    }

    /** One restored store partition, as {@code RestoreLog} logs it, with the log line's time (its end). */
    record Restore(LocalTime end, String client, long records, String store, int partition, long ms) {

        LocalTime start() {
            return end.minusNanos(ms * 1_000_000);
        }
    }

    /** Every restored store partition in a log. */
    static List<Restore> restores(final String log) {
        final List<Restore> out = new ArrayList<>();
        final Matcher m = RESTORED.matcher(log);
        while (m.find()) {
            out.add(new Restore(LocalTime.parse(m.group(1)), m.group(2), Long.parseLong(m.group(3)), m.group(4),
                    Integer.parseInt(m.group(5)), Long.parseLong(m.group(6))));
        }
        return out;
    }
}
