package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.streams.StreamsConfig;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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
 * SPEC §10.4 and §9 across instances: one {@code ingest} plus one {@code attention} instance (own state dirs and HTTP
 * ports, one application id) produce what offline {@code embed} does, each embedding exactly once; and
 * {@code /sequences/{id}} answers for both paths on any instance, whether it runs the other path's client (two
 * {@code all} instances sharing four partitions) or not at all (the split roles).
 */
class RolesIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final int CHUNK = 5;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static Models models;
    private static List<SequenceInput> sequences;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void setUp() throws Exception {
        models = TestModels.write(dir.resolve("models"));
        // 12..40 tokens in chunks of 5: every sequence has at least three chunks.
        sequences = SyntheticWorkload.generate(24, 12, 40, TestModels.DENSE.vocabSize(), 11, "r-");
        OfflineEmbed.writeJsonl(dir.resolve("in.jsonl"), sequences);
    }

    @Test
    void ingestPlusAttentionEqualOfflineAndAnswerForEachOther() throws Exception {
        final String id = UUID.randomUUID().toString().substring(0, 8);
        final int ingestPort = freePort();
        final int attentionPort = freePort();
        final SeqembedConfig base = config(id, "causal");
        try (SeqembedApp ingest = SeqembedApp.start(instance(base, "ingest", "ingest", ingestPort), models);
             SeqembedApp attention = SeqembedApp.start(instance(base, "attention", "attention", attentionPort),
                     models)) {
            assertThat(ingest.awaitRunning(Duration.ofSeconds(90))).as(ingest.state()).isTrue();
            assertThat(attention.awaitRunning(Duration.ofSeconds(90))).as(attention.state()).isTrue();
            // Each role's health covers its own client only.
            assertThat(get(ingestPort, "/health/ready").body()).isEqualTo("ingest RUNNING");
            assertThat(get(attentionPort, "/health/ready").body()).isEqualTo("attention RUNNING");

            send(base, 0, 2);
            // Open sequences: the ingest instance answers for attention (it has no attention client), the attention
            // instance for ingest, and both agree.
            for (final SequenceInput s : sequences.subList(0, 6)) {
                Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    final JsonNode a = json(get(ingestPort, "/sequences/" + s.sequenceId()));
                    final JsonNode b = json(get(attentionPort, "/sequences/" + s.sequenceId()));
                    assertThat(a.path("tokens_seen").asInt()).isEqualTo(2 * CHUNK);
                    assertThat(a.path("closed").asBoolean()).isFalse();
                    assertThat(a.path("attention_state_bytes").asLong()).isPositive();
                    assertThat(b).isEqualTo(a);
                });
            }
            assertThat(get(attentionPort, "/sequences/nobody").statusCode()).isEqualTo(404);

            send(base, 2, Integer.MAX_VALUE);
            assertOutputsEqualOffline(base, "causal");
        }
    }

    @Test
    void twoFullInstancesAnswerForKeysTheOtherHolds() throws Exception {
        final String id = UUID.randomUUID().toString().substring(0, 8);
        final int portA = freePort();
        final int portB = freePort();
        final SeqembedConfig base = config(id, "encoder");
        try (SeqembedApp a = SeqembedApp.start(instance(base, "a", "all", portA), models);
             SeqembedApp b = SeqembedApp.start(instance(base, "b", "all", portB), models)) {
            assertThat(a.awaitRunning(Duration.ofSeconds(90))).as(a.state()).isTrue();
            assertThat(b.awaitRunning(Duration.ofSeconds(90))).as(b.state()).isTrue();
            send(base, 0, 2);
            // Four partitions over two instances: about half the keys are held by the other one, on both paths.
            for (final SequenceInput s : sequences.subList(0, 8)) {
                Awaitility.await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    final JsonNode fromA = json(get(portA, "/sequences/" + s.sequenceId()));
                    final JsonNode fromB = json(get(portB, "/sequences/" + s.sequenceId()));
                    assertThat(fromA.path("attention_state_bytes").asLong())
                            .isEqualTo(dev.seqembed.state.TokenBuffer.sizeBytes(2 * CHUNK));
                    assertThat(fromB).isEqualTo(fromA);
                });
            }
            send(base, 2, Integer.MAX_VALUE);
            assertOutputsEqualOffline(base, "encoder");
        }
    }

    private void assertOutputsEqualOffline(final SeqembedConfig config, final String mode) throws Exception {
        final List<Embedding> wantAttention = mode.equals("causal")
                ? offline("--path", "attention", "--mode", "causal", "--chunk", String.valueOf(CHUNK))
                : offline("--path", "attention");
        final List<Embedding> wantDense = offline("--path", "dense");
        final List<Embedding> gotAttention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(),
                config.topicEmbeddingsAttention(), wantAttention.size(), Duration.ofSeconds(90));
        final List<Embedding> gotDense = EmbeddingReader.embeddings(KAFKA.bootstrapServers(),
                config.topicEmbeddingsDense(), wantDense.size(), Duration.ofSeconds(90));
        StreamingEqualsOfflineIT.assertSameVectors(gotAttention, wantAttention, 0f);
        StreamingEqualsOfflineIT.assertSameVectors(gotDense, wantDense, 1e-6f);
    }

    private static SeqembedConfig config(final String id, final String mode) {
        final Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", KAFKA.bootstrapServers());
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, "roles-" + id);
        m.put(SeqembedConfig.ATTENTION_MODE, mode);
        m.put(SeqembedConfig.ATTENTION_KV_BLOCK_BYTES, "2048");
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "4");
        m.put(SeqembedConfig.DENSE_BATCH_MAX_WAIT_MS, "50");
        m.putAll(OwnTopics.named(id));
        return SeqembedConfig.from(m);
    }

    private static SeqembedConfig instance(final SeqembedConfig base, final String name, final String role,
                                           final int port) {
        return base.with(SeqembedConfig.ROLE, role).with(SeqembedConfig.HTTP_PORT, String.valueOf(port))
                .with(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state-" + base.applicationId() + "-" + name)
                        .toString());
    }

    private static void send(final SeqembedConfig config, final int from, final int to) {
        final List<List<TokenChunk>> chunks = new ArrayList<>();
        for (final SequenceInput s : sequences) {
            chunks.add(s.toChunks(CHUNK));
        }
        try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
            for (final List<TokenChunk> cs : chunks) {
                for (int i = from; i < Math.min(to, cs.size()); i++) {
                    producer.sendRaw(cs.get(i).getSequenceId(), RecordSerdes.tokenChunk().encode(cs.get(i)));
                }
            }
            producer.flush();
        }
    }

    private static List<Embedding> offline(final String... args) throws Exception {
        final List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--model", dir.resolve("models").resolve(args[1]).toString()));
        return OfflineEmbed.run(dir.resolve("in.jsonl"), dir, all.toArray(String[]::new));
    }

    private HttpResponse<String> get(final int port, final String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(final HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
