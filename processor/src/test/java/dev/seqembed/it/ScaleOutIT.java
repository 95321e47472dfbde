package dev.seqembed.it;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.testing.TestModels;

/**
 * Issue 10.1: several {@code java -jar seqembed.jar run} instances (one application id, own state dirs and HTTP
 * ports) share four partitions while sequences stream in; one is killed with SIGKILL mid-stream and, as in the
 * issue, killed twice more right after it comes back; a third instance joins mid-stream. read_committed consumers
 * still see every dense and attention embedding exactly once, equal to offline {@code embed}. The fourth start's
 * time to RUNNING (static membership: no waiting out dead predecessors) is printed, not asserted.
 *
 * <p>CI runs a short version (causal mode, 40 sequences). The long one: {@code mvn -B -pl processor verify
 * -Dit.test=ScaleOutIT -Dseqembed.soak=true} (both modes, 10x the sequences, three instances from the start);
 * {@code -Dseqembed.standby=1} sets {@code num.standby.replicas}; {@code -Dseqembed.scale.args="-D key=value …"} adds
 * settings (e.g. {@code instance.static-membership=false}, to compare).
 */
class ScaleOutIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final boolean SOAK = Boolean.getBoolean("seqembed.soak");
    private static final int SEQUENCES = SOAK ? 400 : 40;
    private static final int CHUNK = 5;
    private static final Duration START = Duration.ofSeconds(120);

    @TempDir
    static Path dir;

    private static ScaleOutFixture.Workload workload;
    @RegisterExtension
    final ScaleOutFixture.Instances instances = new ScaleOutFixture.Instances();

    @BeforeAll
    static void setUp() throws Exception {
        TestModels.write(dir.resolve("models"));
        // 12..40 tokens in chunks of 5: three to eight chunks per sequence, sent one round of chunks at a time.
        workload = ScaleOutFixture.Workload.generate(dir, SEQUENCES, 12, 40, TestModels.DENSE.vocabSize(), "s-");
    }

    /** CI: causal (KV caches in flight are the harder case); the long version both modes. */
    static List<String> modes() {
        return SOAK ? List.of("causal", "encoder") : List.of("causal");
    }

    @ParameterizedTest(name = "{0} mode")
    @MethodSource("modes")
    void killedRestartedAndJoiningInstancesChangeNothing(final String mode) throws Exception {
        final String id = UUID.randomUUID().toString().substring(0, 8);
        final Path runDir = dir.resolve(mode + "-" + id);
        java.nio.file.Files.createDirectories(runDir);
        final List<String> args = ScaleOutFixture.runArgs(KAFKA.bootstrapServers(), "scale-" + id, id, mode,
                dir.resolve("models"));
        args.addAll(List.of("-D", "attention.kv-block-bytes=2048",
                "-D", "num.standby.replicas=" + Integer.getInteger("seqembed.standby", 0)));
        final String extra = System.getProperty("seqembed.scale.args", "").trim();
        if (!extra.isEmpty()) {
            args.addAll(List.of(extra.split("\\s+")));
        }
        final ProcessorProcess a = instances.add(ProcessorProcess.of("a", runDir, args));
        final ProcessorProcess b = instances.add(ProcessorProcess.of("b", runDir, args));
        final ProcessorProcess c = instances.add(ProcessorProcess.of("c", runDir, args));
        a.start();
        b.start();
        if (SOAK) {
            c.start();
        }
        a.awaitReady(START);
        b.awaitReady(START);
        if (SOAK) {
            c.awaitReady(START);
        }

        final List<List<TokenChunk>> chunks = new ArrayList<>();
        int rounds = 0;
        for (final SequenceInput s : workload.sequences()) {
            chunks.add(s.toChunks(CHUNK));
            rounds = Math.max(rounds, chunks.get(chunks.size() - 1).size());
        }
        final Properties client = new Properties();
        client.put("bootstrap.servers", KAFKA.bootstrapServers());
        final List<Duration> restarts = new ArrayList<>();
        try (TokenProducer producer = new TokenProducer(client, "tokens-" + id)) {
            int round = 0;
            ScaleOutFixture.sendRound(producer, chunks, round++);
            ScaleOutFixture.sendRound(producer, chunks, round++);
            // Work in flight on every partition: some dense windows are out.
            EmbeddingReader.read(KAFKA.bootstrapServers(), "dense-" + id, SEQUENCES, Duration.ofSeconds(60));
            // Three quick kill -9s of the same instance: mid-stream, then each time right after it came back.
            for (int kill = 0; kill < 3; kill++) {
                a.kill9();
                ScaleOutFixture.sendRound(producer, chunks, round++);
                a.start();
                if (kill < 2) {
                    a.awaitListening(START);
                }
            }
            restarts.add(a.awaitReady(START));
            ScaleOutFixture.sendRound(producer, chunks, round++);
            // A new instance joins mid-stream (in the long version: the killed one once more, after it served).
            if (!SOAK) {
                c.start();
            } else {
                c.kill9();
                c.start();
            }
            while (round < rounds) {
                ScaleOutFixture.sendRound(producer, chunks, round++);
                Thread.sleep(300);
            }
            restarts.add(c.awaitReady(START));
        }

        final int[] checked = ScaleOutFixture.assertEqualsOffline(KAFKA.bootstrapServers(), id, workload.input(),
                runDir, mode, CHUNK, dir.resolve("models"), Duration.ofSeconds(SOAK ? 600 : 120));
        instances.assertAllAlive();
        System.out.printf("ScaleOutIT %s: %d instances, 3 kill -9s + %s, %d attention and %d dense embeddings "
                        + "checked (exactly once, equal to offline); 4th start after 3 quick kill -9s: RUNNING in "
                        + "%d ms (%s); %s start: RUNNING in %d ms; restored %s%n", mode, instances.all().size(),
                SOAK ? "a 4th kill" : "a join", checked[0], checked[1], restarts.get(0).toMillis(),
                Objects.toString(ScaleOutFixture.lastRunning(a.logs()), "no RUNNING line"),
                SOAK ? "restart of c" : "joining c", restarts.get(1).toMillis(), restoreTotals());
    }

    private String restoreTotals() throws Exception {
        long records = 0;
        long ms = 0;
        for (final ProcessorProcess p : instances.all()) {
            for (final ScaleOutFixture.Restore r : ScaleOutFixture.restores(p.logs())) {
                records += r.records();
                ms += r.ms();
            }
        }
        return records + " changelog records in " + ms + " ms (sum over store partitions)";
    }
}
