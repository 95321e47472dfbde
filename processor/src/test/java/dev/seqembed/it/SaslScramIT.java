package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.broker.EmbeddedKafkaBroker;
import dev.seqembed.broker.ScramUser;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.testing.Chunks;
import dev.seqembed.testing.Cli;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * The in-JVM broker with a SASL/SCRAM-SHA-512 client listener (SPEC §10.6): with the right credentials in standard
 * Kafka properties, produce → run → consume work end to end; with wrong ones each command ends with one line
 * naming the authentication failure and exit 2.
 */
class SaslScramIT {

    private static final Logger LOG = LoggerFactory.getLogger(SaslScramIT.class);
    private static final ScramUser ALICE = new ScramUser("alice", "s3cret:\"quoted\"");

    @TempDir
    static Path dir;

    private static EmbeddedKafkaBroker broker;
    private static Models models;

    @BeforeAll
    static void start() throws Exception {
        broker = EmbeddedKafkaBroker.start(0, null, ALICE);
        models = TestModels.write(dir.resolve("models"));
    }

    @AfterAll
    static void stop() {
        if (broker != null) {
            broker.close();
        }
    }

    /** The settings as -D flags, the way a user passes them. */
    private static List<String> securityFlags(final ScramUser user) {
        final List<String> flags = new ArrayList<>();
        user.clientProperties().forEach((k, v) -> flags.addAll(List.of("-D", k + "=" + v)));
        return flags;
    }

    @Test
    void rightCredentialsProduceRunAndConsume() throws Exception {
        broker.createTopics(Stream.of("tokens", "tokens.dlq", "windows", "embeddings.dense", "embeddings.attention")
                .map(t -> new NewTopic(t, 2, (short) 1)).toList());
        // The credentials from a --config file, as the README shows.
        final Path config = dir.resolve("client.properties");
        final StringBuilder props = new StringBuilder();
        ALICE.clientProperties().forEach((k, v) -> props.append(k).append('=').append(v.replace("\\", "\\\\"))
                .append('\n'));
        Files.writeString(config, props);

        // Token ids inside the small test models' vocabulary.
        final Path input = OfflineEmbed.writeJsonl(dir.resolve("in.jsonl"), java.util.stream.IntStream.range(0, 12)
                .mapToObj(i -> new SequenceInput("s-" + i, Chunks.tokens(5 + 3 * i, i))).toList());
        final Cli.Result produce = Cli.run(List.of("produce", "--bootstrap-servers", broker.bootstrapServers(),
                "--config", config.toString(), "--input", input.toString(), "--chunk", "10"));
        assertThat(produce.exit()).as(produce.err()).isZero();
        assertThat(produce.err()).contains("produced 12 sequences");

        final Map<String, String> m = new HashMap<>(ALICE.clientProperties());
        m.put("bootstrap.servers", broker.bootstrapServers());
        m.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
        m.put(SeqembedConfig.HTTP_PORT, "0");
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "2");
        m.put(SeqembedConfig.DENSE_BATCH_MAX_WAIT_MS, "50");
        try (SeqembedApp app = SeqembedApp.start(SeqembedConfig.from(m), models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            final List<String> args = new ArrayList<>(List.of("consume", "--bootstrap-servers",
                    broker.bootstrapServers(), "--topic", "embeddings.attention", "--from-beginning", "--max", "12",
                    "--timeout-ms", "60000"));
            args.addAll(securityFlags(ALICE));
            final Cli.Result consume = Cli.run(args);
            assertThat(consume.exit()).as(consume.err()).isZero();
            assertThat(consume.out().lines().filter(l -> l.contains("\"sequence_id\"")).count()).isEqualTo(12);
        }
        // reset reaches the secured cluster with the same --config: it lists both groups (without --yes, exit 2).
        final Cli.Result reset = Cli.run(List.of("reset", "--bootstrap-servers", broker.bootstrapServers(), "--config",
                config.toString(), "--state-dir", dir.resolve("state").toString()));
        assertThat(reset.exit()).as(reset.err()).isEqualTo(2);
        assertThat(reset.out()).contains("consumer group seqembed\n", "consumer group seqembed-attention",
                "topic seqembed-attention-chunks");
    }

    static Stream<List<String>> commands() {
        return Stream.of(
                List.of("produce", "--synthetic", "2"),
                List.of("consume", "--topic", "embeddings.dense"),
                List.of("run", "--http-port", "0", "--state-dir", "STATE"),
                List.of("reset", "--state-dir", "STATE"));
    }

    @ParameterizedTest
    @MethodSource("commands")
    void wrongCredentialsAreOneLineAndExit2(final List<String> command) {
        final List<String> args = new ArrayList<>();
        for (final String a : command) {
            args.add(a.equals("STATE") ? dir.resolve("state-wrong").toString() : a);
        }
        args.addAll(List.of("--bootstrap-servers", broker.bootstrapServers()));
        args.addAll(securityFlags(new ScramUser("alice", "wrong")));
        final long t0 = System.nanoTime();
        final Cli.Result r = Cli.run(args);
        final long ms = (System.nanoTime() - t0) / 1_000_000;
        LOG.info("{} with wrong credentials: exit {} after {} ms: {}", command.get(0), r.exit(), ms, r.err().trim());
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).contains("authentication failed at " + broker.bootstrapServers())
                .doesNotContain("\tat ");
    }
}
