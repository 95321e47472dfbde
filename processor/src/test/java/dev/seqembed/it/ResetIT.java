package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.testing.Cli;
import dev.seqembed.testing.ItSettings;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * {@code reset} on a real broker (SPEC §10.6): refused while the application runs; without {@code --yes} it only
 * lists; with it the internal topics, both groups' offsets and the local state are gone, and the application
 * starts over from the beginning of its input.
 */
class ResetIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final String APP = "reset-app";

    @TempDir
    static Path dir;

    private static Cli.Result reset(final String... extra) {
        final List<String> args = new java.util.ArrayList<>(List.of("reset", "--bootstrap-servers",
                KAFKA.bootstrapServers(), "--application-id", APP, "--state-dir", dir.resolve("state").toString()));
        args.addAll(List.of(extra));
        return Cli.run(args);
    }

    @Test
    void resetRemovesTopicsOffsetsAndStateAndTheApplicationStartsOver() throws Exception {
        final Models models = TestModels.write(dir.resolve("models"));
        final Map<String, String> m = ItSettings.causal(KAFKA.bootstrapServers(), APP, dir.resolve("state"));
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "2");
        final SeqembedConfig config = SeqembedConfig.from(m);
        final List<SequenceInput> sequences = SyntheticWorkload.generate(8, 5, 30, TestModels.DENSE.vocabSize(), 3,
                "r-");
        final int chunks = sequences.stream().mapToInt(s -> s.toChunks(10).size()).sum();

        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            try (TokenProducer p = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
                sequences.forEach(s -> p.send(s, 10));
                p.flush();
            }
            assertThat(EmbeddingReader.read(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(), chunks,
                    Duration.ofSeconds(60))).hasSize(chunks);
            final Cli.Result running = reset("--yes");
            assertThat(running.exit()).isEqualTo(2);
            assertThat(running.err()).contains("application '" + APP + "' is running");
        }

        // Another application whose id starts with this one's: its changelog looks internal by prefix, and stays.
        final String neighbours = APP + "-other-store-changelog";
        final Set<String> internal;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
            internal = Set.copyOf(admin.listTopics().names().get().stream()
                    .filter(t -> t.startsWith(APP + "-")).toList());
            admin.createTopics(List.of(new NewTopic(neighbours, 1, (short) 1))).all().get();
        }
        assertThat(internal).contains(APP + "-sequence-progress-changelog",
                APP + "-attention-attention-kv-cache-changelog", APP + "-attention-chunks");

        final Cli.Result dry = reset();
        assertThat(dry.exit()).isEqualTo(2);
        assertThat(dry.err().strip()).isEqualTo("seqembed reset: nothing removed; run again with --yes");
        for (final String t : internal) {
            assertThat(dry.out()).contains("topic " + t);
        }
        assertThat(dry.out()).doesNotContain("topic windows", "topic " + neighbours, "topic " + config.topicTokens(),
                "topic " + config.topicEmbeddingsAttention());
        assertThat(dry.out()).contains("consumer group " + APP + "\n",
                "consumer group " + APP + "-attention", "local state " + dir.resolve("state").resolve(APP));
        assertThat(Files.isDirectory(dir.resolve("state").resolve(APP))).as("nothing removed").isTrue();

        final Cli.Result done = reset("--yes");
        assertThat(done.exit()).as(done.err()).isZero();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
            final long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (admin.listTopics().names().get().stream().anyMatch(internal::contains)
                    && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertThat(admin.listTopics().names().get()).contains(neighbours).doesNotContainAnyElementsOf(internal)
                    .contains(config.topicTokens(), config.topicWindows(), config.topicEmbeddingsAttention());
            assertThat(admin.listConsumerGroupOffsets(APP).partitionsToOffsetAndMetadata().get()).isEmpty();
            assertThat(admin.listConsumerGroupOffsets(APP + "-attention").partitionsToOffsetAndMetadata().get())
                    .isEmpty();
        }
        assertThat(dir.resolve("state").resolve(APP)).doesNotExist();
        assertThat(dir.resolve("state").resolve(APP + "-attention")).doesNotExist();

        // Started again, the application reads its input from the beginning: every chunk is embedded once more.
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            assertThat(EmbeddingReader.read(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(), 2 * chunks,
                    Duration.ofSeconds(60))).hasSize(2 * chunks);
        }
    }
}
