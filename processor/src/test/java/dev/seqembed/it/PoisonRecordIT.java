package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.KvCache;
import dev.seqembed.processor.AttentionCausal;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.processor.DenseBatcher;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.ItSettings;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * The poison record on a real broker: a corrupt KV-cache header in the attention changelog, restored at a
 * restart. Before, the thread was replaced again and again and the partition stalled; now the sequence's chunk goes
 * to {@code tokens.dlq} with PROCESSING_ERROR, and the 30 good sequences sent around it are all embedded, with the
 * vectors of an offline run. The same restart restores a corrupt dense micro-batch entry, which the dense batcher
 * reads at start: it is dead-lettered as it is, and the dense path goes on (before, the task failed and stopped the
 * client).
 */
class PoisonRecordIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final int CHUNK = 6;
    private static final String POISON = "poison";
    /** Not a buffered window: a format byte no release wrote, then noise. */
    private static final byte[] GARBAGE = {7, 1, 2, 3};

    @TempDir
    static Path dir;

    private static Models models;

    @BeforeAll
    static void setUp() throws Exception {
        models = TestModels.write(dir.resolve("models"));
    }

    @Test
    void aCorruptCacheEntryIsDeadLetteredAndEverythingElseIsEmbedded() throws Exception {
        final SeqembedConfig config = config();
        final List<SequenceInput> good = SyntheticWorkload.generate(30, 13, 18, TestModels.DENSE.vocabSize(), 5, "g-");
        final List<TokenChunk> poison = new SequenceInput(POISON, dev.seqembed.testing.Chunks.tokens(18, 3))
                .toChunks(CHUNK);
        // First run: the poison sequence's first chunk, so that its cache is in the store and the changelog.
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            send(config, List.of(poison.get(0)));
            assertThat(EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(), 1,
                    Duration.ofSeconds(60))).hasSize(1);
        }
        // While it is stopped, a corrupt header and a corrupt dense batch entry land in the changelogs: the restart
        // restores them.
        corruptChangelogs(config);

        final List<TokenChunk> second = new ArrayList<>();
        for (int i = 0; i < good.size(); i++) {
            if (i == 10) {
                second.add(poison.get(1));
            }
            if (i == 20) {
                second.add(poison.get(2));
            }
            second.addAll(good.get(i).toChunks(CHUNK));
        }
        final int goodChunks = second.size() - 2;
        final List<Embedding> attention;
        final List<Embedding> dense;
        final List<ConsumerRecord<byte[], byte[]>> dead;
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            send(config, second);
            attention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(),
                    1 + goodChunks, Duration.ofSeconds(90));
            dead = EmbeddingReader.read(KAFKA.bootstrapServers(), config.topicDlq(), 3, Duration.ofSeconds(30));
            dense = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsDense(),
                    expectedDenseWindows(good), Duration.ofSeconds(60));
            assertThat(app.failed()).isFalse();
            assertThat(app.state()).isEqualTo("ingest RUNNING, attention RUNNING");
        }

        assertThat(dead).hasSize(3).allSatisfy(r ->
                assertThat(header(r, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR"));
        // The dense batch entry: its bytes as they were, keyed by its slot.
        final List<ConsumerRecord<byte[], byte[]>> unreadable = dead.stream()
                .filter(r -> header(r, DeadLetter.HEADER_MESSAGE).contains("store '" + DenseBatcher.STORE + "'"))
                .toList();
        assertThat(unreadable).singleElement().satisfies(r -> {
            assertThat(r.key()).isEqualTo(new byte[Long.BYTES]);
            assertThat(r.value()).isEqualTo(GARBAGE);
        });
        // The poison: its second chunk (corrupt cache) and its last (sequence closed).
        final List<ConsumerRecord<byte[], byte[]>> poisoned = dead.stream().filter(r -> !unreadable.contains(r))
                .toList();
        for (final ConsumerRecord<byte[], byte[]> r : poisoned) {
            assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(POISON);
        }
        assertThat(header(poisoned.get(0), DeadLetter.HEADER_MESSAGE)).contains("not a KV cache header of version");
        assertThat(RecordSerdes.tokenChunk().decode(poisoned.get(0).value())).isEqualTo(poison.get(1));
        assertThat(header(poisoned.get(1), DeadLetter.HEADER_MESSAGE))
                .contains("closed by an earlier processing error");
        assertThat(RecordSerdes.tokenChunk().decode(poisoned.get(1).value())).isEqualTo(poison.get(2));

        // All 30 good sequences, every chunk, equal to an offline causal run; the poison only has its first chunk.
        final Path in = OfflineEmbed.writeJsonl(dir.resolve("good.jsonl"), good);
        final List<Embedding> want = OfflineEmbed.run(in, dir, "--path", "attention", "--mode", "causal", "--chunk",
                String.valueOf(CHUNK), "--model", dir.resolve("models/attention").toString());
        final List<Embedding> gotGood = attention.stream().filter(e -> !e.getSequenceId().equals(POISON)).toList();
        StreamingEqualsOfflineIT.assertSameVectors(gotGood, want, 0f);
        assertThat(attention.stream().filter(e -> e.getSequenceId().equals(POISON)).map(Embedding::getIndex))
                .containsExactly(0);
        // The dense path is the ingest client's: the poison's windows and every good window are there.
        final Map<String, Long> finals = dense.stream().filter(Embedding::getFinal$)
                .collect(Collectors.groupingBy(Embedding::getSequenceId, Collectors.counting()));
        assertThat(finals).hasSize(31).allSatisfy((id, n) -> assertThat(n).isEqualTo(1L));
    }

    private static int expectedDenseWindows(final List<SequenceInput> good) {
        int n = windows(18);
        for (final SequenceInput s : good) {
            n += windows(s.tokens().length);
        }
        return n;
    }

    private static int windows(final int tokens) {
        final int w = TestModels.DENSE.window();
        final int s = TestModels.DENSE.stride();
        return tokens <= w ? 1 : 1 + (tokens - w + s - 1) / s;
    }

    /**
     * Overwrites the poison's cache header in the changelog with one of an unknown version, and writes garbage into
     * slot 0 of a dense micro-batch, as corruption would.
     */
    private static void corruptChangelogs(final SeqembedConfig config) {
        final KvCache cache = models.attention().newCache();
        final byte[] header = cache.headerBytes();
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 99);
        final String changelog = config.applicationId() + "-attention-" + AttentionCausal.STORE + "-changelog";
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers",
                KAFKA.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            // The store's changelog partition is the task's: the chunks topic partition of the sequence id.
            final int partition = Utils.toPositive(Utils.murmur2(POISON.getBytes(StandardCharsets.UTF_8))) % 2;
            p.send(new ProducerRecord<>(changelog, partition, (POISON + "\u0000h").getBytes(StandardCharsets.UTF_8),
                    header));
            p.send(new ProducerRecord<>(config.applicationId() + "-" + DenseBatcher.STORE + "-changelog", 0,
                    new byte[Long.BYTES], GARBAGE));
            p.flush();
        }
    }

    private static String header(final ConsumerRecord<byte[], byte[]> r, final String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    private static void send(final SeqembedConfig config, final List<TokenChunk> chunks) {
        try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
            for (final TokenChunk c : chunks) {
                producer.sendRaw(c.getSequenceId(), RecordSerdes.tokenChunk().encode(c));
            }
            producer.flush();
        }
    }

    private static SeqembedConfig config() {
        final Map<String, String> m = ItSettings.causal(KAFKA.bootstrapServers(), "poison", dir.resolve("state"));
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "2");
        return SeqembedConfig.from(m);
    }
}
