package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.testing.OwnTopics;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * Stopping the processor in the middle of sequences changes no vector: buffered windows, token buffers and KV
 * caches come back from the local state or, with the state directory wiped, from their changelogs; the result
 * equals an uninterrupted (offline) run, with nothing lost and nothing repeated.
 */
class RestartIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final int CHUNK = 6;

    @TempDir
    static Path dir;

    private static Models models;
    private static List<SequenceInput> sequences;

    @BeforeAll
    static void setUp() throws Exception {
        models = TestModels.write(dir.resolve("models"));
        sequences = SyntheticWorkload.generate(12, 14, 60, TestModels.DENSE.vocabSize(), 9, "r-");
        OfflineEmbed.writeJsonl(dir.resolve("in.jsonl"), sequences);
    }

    @ParameterizedTest(name = "{0} mode, wipe local state: {1}")
    @CsvSource({"causal,false", "causal,true", "encoder,true"})
    void restartInTheMiddleOfSequencesChangesNoVector(final String mode, final boolean wipeState) throws Exception {
        final String id = UUID.randomUUID().toString().substring(0, 8);
        final Path stateDir = dir.resolve("state-" + id);
        final SeqembedConfig config = config(id, mode, stateDir);
        final List<List<TokenChunk>> chunks = new ArrayList<>();
        for (final SequenceInput s : sequences) {
            chunks.add(s.toChunks(CHUNK));
        }
        // First run: the first two chunks of every sequence (none is complete: all have >= 3 chunks).
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            send(config, chunks, 0, 2);
            awaitConsumed(config);
        }
        if (wipeState) {
            org.apache.kafka.common.utils.Utils.delete(stateDir.toFile());
        }
        // Second run on the same application id and state: the rest; now batches flush quickly.
        final SeqembedConfig second = config.with(SeqembedConfig.DENSE_BATCH_MAX_WAIT_MS, "100");
        final List<Embedding> gotAttention;
        final List<Embedding> gotDense;
        final List<Embedding> wantAttention = mode.equals("causal")
                ? offline("--path", "attention", "--mode", "causal", "--chunk", String.valueOf(CHUNK))
                : offline("--path", "attention");
        final List<Embedding> wantDense = offline("--path", "dense");
        try (SeqembedApp app = SeqembedApp.start(second, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            send(second, chunks, 2, Integer.MAX_VALUE);
            gotAttention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(),
                    wantAttention.size(), Duration.ofSeconds(60));
            gotDense = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsDense(),
                    wantDense.size(), Duration.ofSeconds(60));
        }
        StreamingEqualsOfflineIT.assertSameVectors(gotAttention, wantAttention, 0f);
        StreamingEqualsOfflineIT.assertSameVectors(gotDense, wantDense, 1e-6f);
    }

    private static SeqembedConfig config(final String id, final String mode, final Path stateDir) {
        final Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", KAFKA.bootstrapServers());
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, "restart-" + id);
        m.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        m.put(SeqembedConfig.ATTENTION_MODE, mode);
        // 8 tokens per stored K/V block with the test model: the restored caches come from several blocks.
        m.put(SeqembedConfig.ATTENTION_KV_BLOCK_BYTES, "2048");
        m.put(SeqembedConfig.HTTP_PORT, "0");
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "2");
        // A large batch that only the punctuator flushes: windows are still buffered at the restart.
        m.put(SeqembedConfig.DENSE_BATCH_MAX_WINDOWS, "1000");
        m.put(SeqembedConfig.DENSE_BATCH_MAX_WAIT_MS, "60000");
        m.putAll(OwnTopics.named(id));
        return SeqembedConfig.from(m);
    }

    private static void send(final SeqembedConfig config, final List<List<TokenChunk>> chunks, final int from,
                             final int to) {
        try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
            for (final List<TokenChunk> cs : chunks) {
                for (int i = from; i < Math.min(to, cs.size()); i++) {
                    producer.sendRaw(cs.get(i).getSequenceId(), RecordSerdes.tokenChunk().encode(cs.get(i)));
                }
            }
            producer.flush();
        }
    }

    /** Waits until the application has committed everything on its input topics. */
    private static void awaitConsumed(final SeqembedConfig config) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.bootstrapServers()))) {
            final long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                final Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(
                        config.applicationId()).partitionsToOffsetAndMetadata().get();
                final Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
                // The ingest client reads only tokens: windows go on to the dense batcher inside the same task.
                for (final String topic : List.of(config.topicTokens())) {
                    for (int p = 0; p < 2; p++) {
                        latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
                    }
                }
                final Map<TopicPartition, Long> ends = admin.listOffsets(latest).all().get().entrySet().stream()
                        .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
                final boolean done = ends.entrySet().stream().allMatch(e -> e.getValue() == 0
                        || committed.containsKey(e.getKey()) && committed.get(e.getKey()).offset() >= e.getValue());
                if (done) {
                    return;
                }
                Thread.sleep(200);
            }
            throw new AssertionError("the processor did not consume its input within 60 s");
        }
    }

    private static List<Embedding> offline(final String... args) throws Exception {
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--model", dir.resolve("models").resolve(args[1]).toString()));
        return OfflineEmbed.run(dir.resolve("in.jsonl"), dir, all.toArray(String[]::new));
    }
}
