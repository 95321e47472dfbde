package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.avro.Embedding;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * The real topology on a real broker: sequences produced in chunks come out as the same vectors as the offline
 * {@code embed} command computes for the same input, and bad records go to the DLQ while good ones flow.
 */
class StreamingEqualsOfflineIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    @TempDir
    static Path dir;

    private static Models models;
    private static List<SequenceInput> sequences;
    private static Path input;

    @BeforeAll
    static void setUp() throws Exception {
        models = TestModels.write(dir.resolve("models"));
        sequences = SyntheticWorkload.generate(24, 1, 60, TestModels.DENSE.vocabSize(), 5, "s-");
        input = dir.resolve("in.jsonl");
        OfflineEmbed.writeJsonl(input, sequences);
    }

    private static SeqembedConfig config(final String mode) {
        final String suffix = UUID.randomUUID().toString().substring(0, 8);
        final Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", KAFKA.bootstrapServers());
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, "it-" + suffix);
        m.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state-" + suffix).toString());
        m.put(SeqembedConfig.ATTENTION_MODE, mode);
        // 8 tokens per stored K/V block with the test model: chunks of 9 span blocks.
        m.put(SeqembedConfig.ATTENTION_KV_BLOCK_BYTES, "2048");
        m.put(SeqembedConfig.HTTP_PORT, "0");
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "2");
        for (final String t : List.of("tokens", "tokens.dlq", "windows", "embeddings.dense", "embeddings.attention")) {
            m.put("topic." + t.replace("tokens.dlq", "dlq").replace("embeddings.", "embeddings."), t + "-" + suffix);
        }
        return SeqembedConfig.from(m);
    }

    private static List<Embedding> offline(final String... args) throws IOException {
        return OfflineEmbed.run(input, dir, args);
    }

    private static List<Embedding> streamed(final SeqembedConfig config, final int chunk, final String topic,
                                            final int expected) throws Exception {
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
                for (final SequenceInput s : sequences) {
                    producer.send(s, chunk);
                }
                producer.flush();
            }
            return EmbeddingReader.embeddings(KAFKA.bootstrapServers(), topic, expected, Duration.ofSeconds(60));
        }
    }

    @Test
    void denseAndEncoderAttentionStreamedEqualOffline() throws Exception {
        final SeqembedConfig config = config("encoder");
        final List<Embedding> wantDense = offline("--path", "dense", "--model", dir.resolve("models/dense").toString());
        final List<Embedding> wantAttention = offline("--path", "attention", "--model",
                dir.resolve("models/attention").toString());
        final List<Embedding> gotDense;
        final List<Embedding> gotAttention;
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
                for (int i = 0; i < sequences.size(); i++) {
                    producer.send(sequences.get(i), i % 2 == 0 ? 7 : 0);
                }
                producer.flush();
            }
            gotDense = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsDense(),
                    wantDense.size(), Duration.ofSeconds(60));
            gotAttention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(),
                    wantAttention.size(), Duration.ofSeconds(60));
        }
        assertSameVectors(gotDense, wantDense, 1e-6f);
        assertSameVectors(gotAttention, wantAttention, 0f);
    }

    @Test
    void causalAttentionStreamedPerChunkEqualsOfflineExactly() throws Exception {
        final int chunk = 9;
        final List<Embedding> want = offline("--path", "attention", "--model",
                dir.resolve("models/attention").toString(), "--mode", "causal", "--chunk", String.valueOf(chunk));
        final SeqembedConfig config = config("causal");
        final List<Embedding> got = streamed(config, chunk, config.topicEmbeddingsAttention(), want.size());
        assertSameVectors(got, want, 0f);
        assertThat(got).filteredOn(e -> e.getIndex() > 0)
                .allSatisfy(e -> assertThat(e.getMetrics().getCacheHitTokens()).isEqualTo(e.getStart()));
    }

    @Test
    void badRecordsGoToTheDlqWhileGoodOnesFlow() throws Exception {
        final SeqembedConfig config = config("encoder");
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
                producer.sendRaw("junk", new byte[] {1, 2, 3});
                producer.send(new SequenceInput("good-1", new int[] {5, 6, 7}), 0);
                producer.send(new SequenceInput("oob", new int[] {5, 999}), 0);
                producer.send(new SequenceInput("long", new int[TestModels.BERT.maxPositionEmbeddings() + 1]), 0);
                producer.send(new SequenceInput("good-2", new int[] {8, 9}), 0);
                producer.flush();
            }
            final List<ConsumerRecord<byte[], byte[]>> dlq = EmbeddingReader.read(KAFKA.bootstrapServers(),
                    config.topicDlq(), 3, Duration.ofSeconds(60));
            assertThat(dlq).extracting(r -> new String(r.headers().lastHeader(DeadLetter.HEADER_REASON).value(),
                    StandardCharsets.UTF_8)).containsExactlyInAnyOrder("DESERIALIZATION", "TOKEN_OUT_OF_RANGE",
                    "SEQUENCE_TOO_LONG");
            assertThat(dlq).filteredOn(r -> new String(r.key(), StandardCharsets.UTF_8).equals("junk"))
                    .singleElement().satisfies(r -> assertThat(r.value()).containsExactly(1, 2, 3));
            final List<Embedding> attention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(),
                    config.topicEmbeddingsAttention(), 2, Duration.ofSeconds(60));
            assertThat(attention).extracting(Embedding::getSequenceId).containsExactlyInAnyOrder("good-1", "good-2");
        }
    }

    /**
     * How far a vector computed in a packed forward (encoder micro-batch: several sequences' rows in one GEMM,
     * {@code batch_size > 1}) may be from the same sequence's forward alone: a different GEMM shape may round the
     * last bit differently. Vectors computed alone (causal chunks, a batch of one) must be equal exactly.
     */
    static final float PACKED_FORWARD_TOLERANCE = 1e-6f;

    /**
     * Same records, same vectors; order across sequences is the broker's business, so compare by key. With
     * {@code tolerance} 0, records computed in a packed forward are held to {@link #PACKED_FORWARD_TOLERANCE}.
     */
    static void assertSameVectors(final List<Embedding> got, final List<Embedding> want, final float tolerance) {
        final Comparator<Embedding> byKey = Comparator.comparing(Embedding::getSequenceId)
                .thenComparing(Embedding::getIndex);
        final List<Embedding> g = new ArrayList<>(got);
        final List<Embedding> w = new ArrayList<>(want);
        g.sort(byKey);
        w.sort(byKey);
        assertThat(g).extracting(e -> e.getSequenceId() + "#" + e.getIndex() + "@" + e.getStart() + "+"
                + e.getLength() + (e.getFinal$() ? "F" : ""))
                .containsExactlyElementsOf(w.stream().map(e -> e.getSequenceId() + "#" + e.getIndex() + "@"
                        + e.getStart() + "+" + e.getLength() + (e.getFinal$() ? "F" : "")).toList());
        for (int i = 0; i < g.size(); i++) {
            final List<Float> a = g.get(i).getVector();
            final List<Float> b = w.get(i).getVector();
            assertThat(a).hasSameSizeAs(b);
            final float allowed = tolerance == 0f && g.get(i).getMetrics().getBatchSize() > 1
                    ? PACKED_FORWARD_TOLERANCE : tolerance;
            for (int j = 0; j < a.size(); j++) {
                if (allowed == 0f) {
                    assertThat(a.get(j)).as("%s#%d[%d]", g.get(i).getSequenceId(), g.get(i).getIndex(), j)
                            .isEqualTo(b.get(j));
                } else {
                    assertThat(a.get(j)).as("%s#%d[%d]", g.get(i).getSequenceId(), g.get(i).getIndex(), j)
                            .isCloseTo(b.get(j), org.assertj.core.api.Assertions.within(allowed));
                }
            }
            assertThat(g.get(i).getMetrics().getFlops()).isEqualTo(w.get(i).getMetrics().getFlops());
        }
    }
}
