package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.seqembed.avro.TokenChunk;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.model.Activation;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.DefaultModels;
import dev.seqembed.model.WindowMlpConfig;

/**
 * Issue 10.1, restore time: two {@code java -jar seqembed.jar run} instances share four partitions in causal mode
 * while thousands of sequences of a few hundred tokens are open (their K/V caches make tens of MB of changelog). One
 * instance is killed with SIGKILL, its state directory deleted (a new machine in its place) and started again: it
 * has to restore its stores from the changelogs. Once with {@code num.standby.replicas=0}, once with 1 (the surviving
 * instance then holds a warm copy of every task). Printed, not asserted: the restarted instance's time to RUNNING
 * from its JVM's start and from its Kafka Streams clients' start, what it restored (records, store partitions, wall
 * time) and what the survivor restored. Asserted: after the last chunks, read_committed consumers see every dense and
 * attention embedding exactly once, equal to offline {@code embed}; with a standby, the restarted instance holds
 * tasks of all four partitions in both clients (its own active ones and the survivor's as standbys).
 *
 * <p>Not in CI (three to six minutes on a busy 2-core machine):
 * <pre>mvn -B -pl processor verify -Dit.test=RestoreTimeIT -Dseqembed.soak=true
 *     [-Dseqembed.restore.sequences=2000]</pre>
 */
@EnabledIfSystemProperty(named = "seqembed.soak", matches = "true")
class RestoreTimeIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();
    @RegisterExtension
    final ScaleOutFixture.Instances instances = new ScaleOutFixture.Instances();

    /** 512 positions (room for a few hundred tokens), hidden size 16 in two layers: 256 bytes of K/V per token. */
    private static final BertConfig ATTENTION = new BertConfig(200, 16, 2, 2, 32, Activation.GELU, 512, 2, 1e-12f);
    /** Windows of 32 tokens side by side: a few dense embeddings per sequence. */
    private static final WindowMlpConfig DENSE = new WindowMlpConfig(200, 8, 32, 32, 16, 8, Activation.GELU, true, 0);
    private static final int SEQUENCES = Integer.getInteger("seqembed.restore.sequences", 2000);
    private static final int CHUNK = 50;
    /** One K/V block per chunk: each chunk writes its own block and the header, the changelog grows by the chunk. */
    private static final long KV_BLOCK_BYTES = CHUNK * 2L * ATTENTION.numHiddenLayers() * ATTENTION.hiddenSize()
            * Float.BYTES;
    private static final Duration START = Duration.ofSeconds(180);
    private static final Pattern STATE_CHANGE = Pattern.compile(
            "(?m)^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*? - (\\w+ streams \\w+ -> \\w+)$");
    private static final Duration BUILD = Duration.ofMinutes(30);

    @TempDir
    static Path dir;

    private static ScaleOutFixture.Workload workload;

    @BeforeAll
    static void setUp() throws Exception {
        DefaultModels.writeDense(dir.resolve("models/dense"), DENSE, 7);
        DefaultModels.writeBert(dir.resolve("models/attention"), ATTENTION, 11);
        workload = ScaleOutFixture.Workload.generate(dir, SEQUENCES, 150, 300, ATTENTION.vocabSize(), "r-");
    }

    @ParameterizedTest(name = "num.standby.replicas={0}")
    @ValueSource(ints = {0, 1})
    void instanceOnANewMachineRestoresItsStateFromTheChangelogs(final int standbys) throws Exception {
        final String id = UUID.randomUUID().toString().substring(0, 8);
        final String applicationId = "restore-" + id;
        final Path runDir = Files.createDirectories(dir.resolve("standby" + standbys + "-" + id));
        final List<String> args = ScaleOutFixture.runArgs(KAFKA.bootstrapServers(), applicationId, id, "causal",
                dir.resolve("models"));
        args.addAll(List.of("-D", "attention.kv-block-bytes=" + KV_BLOCK_BYTES,
                "-D", "num.standby.replicas=" + standbys));
        final ProcessorProcess a = instance("a", runDir, args, applicationId);
        final ProcessorProcess b = instance("b", runDir, args, applicationId);
        a.start();
        b.start();
        a.awaitReady(START);
        b.awaitReady(START);

        // Every chunk but each sequence's last: all sequences stay open, their K/V caches in the attention store.
        final List<List<TokenChunk>> open = new ArrayList<>();
        final List<List<TokenChunk>> last = new ArrayList<>();
        int rounds = 0;
        for (final SequenceInput s : workload.sequences()) {
            final List<TokenChunk> cs = s.toChunks(CHUNK);
            open.add(cs.subList(0, cs.size() - 1));
            last.add(cs.subList(cs.size() - 1, cs.size()));
            rounds = Math.max(rounds, cs.size() - 1);
        }
        final int openChunks = open.stream().mapToInt(List::size).sum();
        final Properties client = new Properties();
        client.put("bootstrap.servers", KAFKA.bootstrapServers());
        final Duration ready;
        final String load;
        final int survivorRestoresBefore;
        final int survivorLogBefore;
        final LocalTime killed;
        final long[] changelogBytes;
        try (TokenProducer producer = new TokenProducer(client, "tokens-" + id)) {
            for (int round = 0; round < rounds; round++) {
                ScaleOutFixture.sendRound(producer, open, round);
            }
            // Causal mode embeds every chunk: once all are out, every cache is committed to its changelog.
            EmbeddingReader.read(KAFKA.bootstrapServers(), "attention-" + id, openChunks, BUILD);
            changelogBytes = changelogBytes(applicationId);
            survivorRestoresBefore = ScaleOutFixture.restores(b.log()).size();
            survivorLogBefore = b.log().length();

            killed = LocalTime.now().truncatedTo(ChronoUnit.MILLIS);
            a.kill9();
            Utils.delete(a.stateDir.toFile());
            load = Files.readString(Path.of("/proc/loadavg")).trim();
            a.start();
            ready = a.awaitReady(START);
            // The sequences end on the restored caches.
            ScaleOutFixture.sendRound(producer, last, 0);
        }
        final TaskDirs tasks = TaskDirs.await(a.stateDir, applicationId, standbys > 0 ? Duration.ofSeconds(60)
                : Duration.ZERO);

        final int[] checked = ScaleOutFixture.assertEqualsOffline(KAFKA.bootstrapServers(), id, workload.input(),
                runDir, "causal", CHUNK, dir.resolve("models"), BUILD);
        instances.assertAllAlive();
        if (standbys > 0) {
            assertThat(tasks.ingestPartitions).as("partitions of the ingest client's tasks in a's state dir")
                    .hasSize(ScaleOutFixture.PARTITIONS);
            assertThat(tasks.attentionPartitions).as("partitions of the attention client's tasks in a's state dir")
                    .hasSize(ScaleOutFixture.PARTITIONS);
        }
        final List<ScaleOutFixture.Restore> restored = ScaleOutFixture.restores(a.log());
        final List<ScaleOutFixture.Restore> survivor = ScaleOutFixture.restores(b.log());
        System.out.printf("RestoreTimeIT num.standby.replicas=%d: %d causal sequences open (%d chunks), changelogs "
                        + "%.1f MB (ingest %.1f, attention %.1f); a killed -9, state dir deleted, started again at "
                        + "load average %s: RUNNING %s after the JVM started, %s after its clients started (ready "
                        + "%d ms after the process started); a restored %s; b (survivor) restored %s; a's state dir: "
                        + "%s; %d attention and %d dense embeddings checked (exactly once, equal to offline)%n",
                standbys, workload.sequences().size(), openChunks, (changelogBytes[0] + changelogBytes[1]) / 1e6,
                changelogBytes[0] / 1e6, changelogBytes[1] / 1e6, load, running(a, true), running(a, false),
                ready.toMillis(), summary(restored), summary(survivor.subList(survivorRestoresBefore,
                        survivor.size())), tasks, checked[0], checked[1]);
        System.out.printf("RestoreTimeIT num.standby.replicas=%d: killed at %s; state changes since: a %s; b %s%n",
                standbys, killed, stateChanges(a.log()), stateChanges(b.log().substring(survivorLogBefore)));
    }

    private ProcessorProcess instance(final String name, final Path runDir, final List<String> args,
                                      final String applicationId) throws IOException {
        final List<String> own = new ArrayList<>(args);
        own.addAll(List.of("-D", "instance.name=" + applicationId + "-" + name));
        return instances.add(ProcessorProcess.of(name, runDir, own));
    }

    private static String running(final ProcessorProcess p, final boolean fromJvm) throws IOException {
        final ScaleOutFixture.Running r = ScaleOutFixture.lastRunning(p.log());
        return r == null ? "(no RUNNING line)" : (fromJvm ? r.jvmMs() : r.clientsMs()) + " ms";
    }

    /** The clients' state changes in a log, with their times: "10:00:01.234 ingest CREATED -> REBALANCING, …". */
    private static String stateChanges(final String log) {
        final List<String> out = new ArrayList<>();
        final Matcher m = STATE_CHANGE.matcher(log);
        while (m.find()) {
            out.add(m.group(1) + " " + m.group(2));
        }
        return out.isEmpty() ? "none" : String.join(", ", out);
    }

    /** Records, store partitions, wall time from the first restore's start to the last one's end, the longest. */
    private static String summary(final List<ScaleOutFixture.Restore> restores) {
        if (restores.isEmpty()) {
            return "nothing";
        }
        final LocalTime first = restores.stream().map(ScaleOutFixture.Restore::start).min(Comparator.naturalOrder())
                .orElseThrow();
        final LocalTime end = restores.stream().map(ScaleOutFixture.Restore::end).max(Comparator.naturalOrder())
                .orElseThrow();
        final ScaleOutFixture.Restore longest = restores.stream()
                .max(Comparator.comparingLong(ScaleOutFixture.Restore::ms)).orElseThrow();
        final TreeSet<String> where = new TreeSet<>();
        restores.forEach(r -> where.add(r.client() + " " + r.partition()));
        final long records = restores.stream().mapToLong(ScaleOutFixture.Restore::records).sum();
        return String.format("%d records of %d store partitions (%s) in %d ms wall (longest: %d records of %s, "
                        + "partition %d, in %d ms)", records, restores.size(), String.join(", ", where),
                first.until(end, ChronoUnit.MILLIS), longest.records(), longest.store(), longest.partition(),
                longest.ms());
    }

    /** Bytes in the changelog topics of the ingest client and of the attention client, as the broker holds them. */
    private static long[] changelogBytes(final String applicationId) throws Exception {
        final long[] bytes = new long[2];
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                KAFKA.bootstrapServers()))) {
            final List<Integer> brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).stream()
                    .map(Node::id).toList();
            for (final Map<String, LogDirDescription> dirs : admin.describeLogDirs(brokers).allDescriptions()
                    .get(30, TimeUnit.SECONDS).values()) {
                for (final LogDirDescription d : dirs.values()) {
                    d.replicaInfos().forEach((tp, info) -> {
                        if (tp.topic().startsWith(applicationId + "-") && tp.topic().endsWith("-changelog")) {
                            bytes[tp.topic().startsWith(applicationId + "-attention-") ? 1 : 0] += info.size();
                        }
                    });
                }
            }
        }
        return bytes;
    }

    /**
     * The task directories ({@code <subtopology>_<partition>}) in an instance's state dir, by client: with a standby,
     * an instance holds its active tasks and the other instance's as standbys.
     */
    private record TaskDirs(TreeSet<String> ingest, TreeSet<String> attention, TreeSet<Integer> ingestPartitions,
                            TreeSet<Integer> attentionPartitions) {

        /** Lists them, waiting up to {@code timeout} until both clients have tasks of every partition. */
        static TaskDirs await(final Path stateDir, final String applicationId, final Duration timeout)
                throws Exception {
            final long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                final TaskDirs t = new TaskDirs(tasks(stateDir.resolve(applicationId)),
                        tasks(stateDir.resolve(applicationId + "-attention")), new TreeSet<>(), new TreeSet<>());
                t.ingest.forEach(task -> t.ingestPartitions.add(partition(task)));
                t.attention.forEach(task -> t.attentionPartitions.add(partition(task)));
                if (System.nanoTime() >= deadline || t.ingestPartitions.size() == ScaleOutFixture.PARTITIONS
                        && t.attentionPartitions.size() == ScaleOutFixture.PARTITIONS) {
                    return t;
                }
                Thread.sleep(500);
            }
        }

        private static TreeSet<String> tasks(final Path clientDir) throws IOException {
            final TreeSet<String> out = new TreeSet<>();
            if (Files.isDirectory(clientDir)) {
                try (Stream<Path> files = Files.list(clientDir)) {
                    files.map(f -> f.getFileName().toString()).filter(n -> n.matches("\\d+_\\d+")).forEach(out::add);
                }
            }
            return out;
        }

        private static int partition(final String task) {
            return Integer.parseInt(task.substring(task.indexOf('_') + 1));
        }

        @Override
        public String toString() {
            return "ingest tasks " + ingest + ", attention tasks " + attention;
        }
    }
}
