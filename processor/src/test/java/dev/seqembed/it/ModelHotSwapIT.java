package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.StreamsConfig;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DefaultModels;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * Model hot swap on a real broker (SPEC §10.5): while sequences stream, a second model is copied over the
 * watched model directories. Nothing is lost or duplicated; sequences open at the swap finish on the first
 * model, sequences started after it use the second, and every vector equals the offline {@code embed} output
 * of the model its record names.
 */
class ModelHotSwapIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final int CHUNK = 5;

    @TempDir
    static Path dir;

    private static Path firstModels;
    private static Path secondModels;
    private static String firstAttention;
    private static String secondAttention;
    private static String secondDense;

    @BeforeAll
    static void models() throws Exception {
        firstModels = dir.resolve("first");
        TestModels.write(firstModels);
        secondModels = dir.resolve("second");
        DefaultModels.writeDense(secondModels.resolve("dense"), TestModels.DENSE, 8);
        DefaultModels.writeBert(secondModels.resolve("attention"), TestModels.BERT, 12);
        firstAttention = BertModel.load(firstModels.resolve("attention")).sha256();
        secondAttention = BertModel.load(secondModels.resolve("attention")).sha256();
        secondDense = DenseWindowModel.load(secondModels.resolve("dense")).sha256();
    }

    /** A processor serving (and watching every 100 ms) the models in {@code watched}, on topics of its own. */
    private static SeqembedConfig config(final String suffix, final String mode, final Path watched) {
        final Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", KAFKA.bootstrapServers());
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, "swap-" + suffix);
        m.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state-" + suffix).toString());
        m.put(SeqembedConfig.ATTENTION_MODE, mode);
        m.put(SeqembedConfig.DENSE_MODEL, watched.resolve("dense").toString());
        m.put(SeqembedConfig.ATTENTION_MODEL, watched.resolve("attention").toString());
        m.put(SeqembedConfig.MODELS_WATCH_INTERVAL_MS, "100");
        m.put(SeqembedConfig.HTTP_PORT, "0");
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "2");
        for (final String t : List.of("tokens", "dlq", "windows", "embeddings.dense", "embeddings.attention")) {
            m.put("topic." + t, t + "-" + suffix);
        }
        return SeqembedConfig.from(m);
    }

    private static void copyModel(final Path from, final Path to) throws Exception {
        Files.createDirectories(to);
        for (final String f : List.of("config.json", "model.safetensors")) {
            Files.copy(from.resolve(f), to.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"encoder", "causal"})
    void swapUnderLoadLosesNothingAndEveryVectorEqualsOfflineOnTheModelItNames(final String mode) throws Exception {
        final String suffix = UUID.randomUUID().toString().substring(0, 8);
        final Path watched = dir.resolve("watched-" + suffix);
        copyModel(firstModels.resolve("dense"), watched.resolve("dense"));
        copyModel(firstModels.resolve("attention"), watched.resolve("attention"));

        final List<SequenceInput> open = SyntheticWorkload.generate(12, 2 * CHUNK + 1, 40, 200, 21, "open-");
        final List<SequenceInput> during = SyntheticWorkload.generate(40, 1, 40, 200, 22, "during-");
        final List<SequenceInput> after = SyntheticWorkload.generate(12, 1, 40, 200, 23, "after-");
        final List<SequenceInput> markers = markers();
        final List<SequenceInput> all = new ArrayList<>(open);
        all.addAll(markers);
        all.addAll(during);
        all.addAll(after);

        final SeqembedConfig config = config(suffix, mode, watched);
        final Models models = Models.load(watched.resolve("dense"), watched.resolve("attention"));

        final int denseWanted;
        final int attentionWanted;
        try (SeqembedApp app = SeqembedApp.start(config, models);
             TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            // Open sequences: their first two chunks now, the rest after the swap.
            for (final SequenceInput s : open) {
                final List<TokenChunk> chunks = s.toChunks(CHUNK);
                send(producer, chunks.subList(0, 2));
            }
            markers.forEach(s -> producer.send(s, CHUNK));
            producer.flush();
            // Each partition's marker is embedded only after the open chunks before it were read.
            final int markerRecords = mode.equals("causal")
                    ? markers.stream().mapToInt(s -> s.toChunks(CHUNK).size()).sum() : markers.size();
            final int openRecords = mode.equals("causal") ? 2 * open.size() : 0;
            assertThat(EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(),
                    markerRecords + openRecords, Duration.ofSeconds(60))).hasSize(markerRecords + openRecords);

            // Load keeps flowing while the second model is copied over the watched directories.
            final CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
                for (final SequenceInput s : during) {
                    producer.send(s, CHUNK);
                    sleep(10);
                }
                producer.flush();
            });
            copyModel(secondModels.resolve("dense"), watched.resolve("dense"));
            copyModel(secondModels.resolve("attention"), watched.resolve("attention"));
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> inUse(app, secondAttention)
                    && inUse(app, secondDense));
            load.get();

            for (final SequenceInput s : open) {
                final List<TokenChunk> chunks = s.toChunks(CHUNK);
                send(producer, chunks.subList(2, chunks.size()));
            }
            for (final SequenceInput s : after) {
                producer.send(s, CHUNK);
            }
            producer.flush();

            final Path input = OfflineEmbed.writeJsonl(dir.resolve("in-" + suffix + ".jsonl"), all);
            final Offline dense = new Offline(input, "dense", mode);
            final Offline attention = new Offline(input, "attention", mode);
            denseWanted = dense.first.size();
            attentionWanted = attention.first.size();

            final List<Embedding> gotDense = EmbeddingReader.embeddings(KAFKA.bootstrapServers(),
                    config.topicEmbeddingsDense(), denseWanted, Duration.ofSeconds(90));
            final List<Embedding> gotAttention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(),
                    config.topicEmbeddingsAttention(), attentionWanted, Duration.ofSeconds(90));

            assertThat(gotDense).hasSize(denseWanted);
            assertThat(gotAttention).hasSize(attentionWanted);
            dense.assertEachEqualsItsModel(gotDense, 1e-6f);
            attention.assertEachEqualsItsModel(gotAttention, 0f);
            assertThat(gotAttention).filteredOn(e -> e.getSequenceId().toString().startsWith("open-"))
                    .as("open at the swap: finished on the first model").isNotEmpty()
                    .allSatisfy(e -> assertThat(e.getModel().getSha256()).isEqualTo(firstAttention));
            assertThat(gotAttention).filteredOn(e -> e.getSequenceId().toString().startsWith("after-"))
                    .isNotEmpty()
                    .allSatisfy(e -> assertThat(e.getModel().getSha256()).isEqualTo(secondAttention));
            assertThat(gotDense).filteredOn(e -> e.getSequenceId().toString().startsWith("after-"))
                    .isNotEmpty()
                    .allSatisfy(e -> assertThat(e.getModel().getSha256()).isEqualTo(secondDense));
            assertThat(EmbeddingReader.read(KAFKA.bootstrapServers(), config.topicDlq(), 0, Duration.ZERO)).isEmpty();
        }
    }

    @Test
    void causalSequenceWhoseModelIsGoneAfterARestartIsClosedWithModelChanged() throws Exception {
        final String suffix = UUID.randomUUID().toString().substring(0, 8);
        final Path watched = dir.resolve("restart-" + suffix);
        copyModel(firstModels.resolve("dense"), watched.resolve("dense"));
        copyModel(firstModels.resolve("attention"), watched.resolve("attention"));
        final SeqembedConfig config = config(suffix, "causal", watched);
        final SequenceInput seq = new SequenceInput("cut", new int[] {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
        final List<TokenChunk> chunks = seq.toChunks(4);

        try (SeqembedApp app = SeqembedApp.start(config, Models.load(watched.resolve("dense"),
                watched.resolve("attention")));
             TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            send(producer, chunks.subList(0, 1));
            producer.flush();
            assertThat(EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(), 1,
                    Duration.ofSeconds(60))).singleElement()
                    .satisfies(e -> assertThat(e.getModel().getSha256()).isEqualTo(firstAttention));
        }
        // Stopped: the second model replaces the first on disk, and the restart loads only it.
        copyModel(secondModels.resolve("attention"), watched.resolve("attention"));
        try (SeqembedApp app = SeqembedApp.start(config, Models.load(watched.resolve("dense"),
                watched.resolve("attention")));
             TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            send(producer, chunks.subList(1, chunks.size()));
            producer.send(new SequenceInput("later", new int[] {7, 8, 9}), 0);
            producer.flush();
            final List<ConsumerRecord<byte[], byte[]>> dead = EmbeddingReader.read(KAFKA.bootstrapServers(),
                    config.topicDlq(), chunks.size() - 1, Duration.ofSeconds(60));
            assertThat(dead).hasSize(chunks.size() - 1).allSatisfy(r -> {
                assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("cut");
                assertThat(new String(r.headers().lastHeader(DeadLetter.HEADER_REASON).value(),
                        StandardCharsets.UTF_8)).isEqualTo("MODEL_CHANGED");
            });
            assertThat(dead.get(0).value()).isEqualTo(RecordSerdes.tokenChunk().encode(chunks.get(1)));
            final List<Embedding> attention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(),
                    config.topicEmbeddingsAttention(), 2, Duration.ofSeconds(60));
            assertThat(attention).hasSize(2).filteredOn(e -> e.getSequenceId().toString().equals("later"))
                    .singleElement().satisfies(e -> assertThat(e.getModel().getSha256().toString())
                            .isEqualTo(secondAttention));
        }
    }

    /** Offline {@code embed} output of the same input on the first and on the second model. */
    private static final class Offline {
        final List<Embedding> first;
        final List<Embedding> second;

        Offline(final Path input, final String path, final String mode) throws Exception {
            first = OfflineEmbed.run(input, dir, args(path, mode, firstModels));
            second = OfflineEmbed.run(input, dir, args(path, mode, secondModels));
        }

        private static String[] args(final String path, final String mode, final Path models) {
            return new String[] {"--path", path, "--model", models.resolve(path).toString(), "--mode", mode,
                "--chunk", String.valueOf(CHUNK)};
        }

        void assertEachEqualsItsModel(final List<Embedding> got, final float tolerance) {
            final Map<String, Embedding> onFirst = byRecord(first);
            final Map<String, Embedding> onSecond = byRecord(second);
            assertThat(got.stream().map(Offline::key).distinct().count()).as("no duplicates").isEqualTo(got.size());
            assertThat(got.stream().map(Offline::key)).containsExactlyInAnyOrderElementsOf(onFirst.keySet());
            for (final Embedding e : got) {
                final Embedding a = onFirst.get(key(e));
                final Embedding b = onSecond.get(key(e));
                final String sha = e.getModel().getSha256().toString();
                assertThat(sha).as("model of %s", key(e)).isIn(a.getModel().getSha256().toString(),
                        b.getModel().getSha256().toString());
                final Embedding want = sha.equals(a.getModel().getSha256().toString()) ? a : b;
                final List<Float> v = e.getVector();
                final List<Float> w = want.getVector();
                assertThat(v).hasSameSizeAs(w);
                final float allowed = tolerance == 0f && e.getMetrics().getBatchSize() > 1
                        ? StreamingEqualsOfflineIT.PACKED_FORWARD_TOLERANCE : tolerance;
                for (int i = 0; i < v.size(); i++) {
                    assertThat(Math.abs(v.get(i) - w.get(i))).as("%s [%d]", key(e), i).isLessThanOrEqualTo(allowed);
                }
            }
        }

        private static Map<String, Embedding> byRecord(final List<Embedding> list) {
            final Map<String, Embedding> out = new HashMap<>();
            list.forEach(e -> out.put(key(e), e));
            return out;
        }

        private static String key(final Embedding e) {
            return e.getSequenceId() + "#" + e.getIndex();
        }
    }

    private static void send(final TokenProducer producer, final List<TokenChunk> chunks) {
        for (final TokenChunk c : chunks) {
            producer.sendRaw(c.getSequenceId().toString(), RecordSerdes.tokenChunk().encode(c));
        }
    }

    /** One short finished sequence on each partition of the (two-partition) topics. */
    private static List<SequenceInput> markers() {
        final List<SequenceInput> out = new ArrayList<>();
        final boolean[] covered = new boolean[2];
        for (int i = 0; !(covered[0] && covered[1]); i++) {
            final String id = "marker-" + i;
            final int p = Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8))) % 2;
            if (!covered[p]) {
                covered[p] = true;
                out.add(new SequenceInput(id, new int[] {3 + i, 4, 5}));
            }
        }
        return out;
    }

    private static boolean inUse(final SeqembedApp app, final String sha) {
        return app.telemetry().registry().find("seqembed.model.info").tag("sha256", sha).gauge() != null;
    }

    private static void sleep(final long ms) {
        try {
            Thread.sleep(ms);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
