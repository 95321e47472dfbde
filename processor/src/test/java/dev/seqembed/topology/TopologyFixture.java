package dev.seqembed.topology;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.internals.OffsetCheckpoint;
import org.apache.kafka.streams.test.TestRecord;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.processor.ProcessingErrorHandler;
import dev.seqembed.serde.RecordSerdes;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * TopologyTestDrivers around the real ingest and attention topologies with small real models, the internal
 * chunks topic between them pumped by hand after every step, as Kafka would carry it.
 */
final class TopologyFixture implements AutoCloseable {

    final SeqembedConfig config;
    final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry());
    final TopologyTestDriver driver;
    final TopologyTestDriver attentionDriver;
    final TestInputTopic<byte[], byte[]> tokens;
    final TestOutputTopic<String, Embedding> dense;
    final TestOutputTopic<String, Embedding> attention;
    final TestOutputTopic<byte[], byte[]> dlq;
    /** Dead letters of the attention client (MODEL_CHANGED, PROCESSING_ERROR). */
    final TestOutputTopic<byte[], byte[]> attentionDlq;
    private final TestOutputTopic<String, TokenChunk> chunksOut;
    private final TestInputTopic<String, TokenChunk> chunksIn;
    private Instant time = Instant.parse("2026-01-01T00:00:00Z");

    TopologyFixture(final Models models, final Path stateDir, final Map<String, String> settings) {
        this(models.live(), stateDir, settings, null);
    }

    TopologyFixture(final LiveModels models, final Path stateDir, final Map<String, String> settings) {
        this(models, stateDir, settings, null);
    }

    /** With the attention path computed by {@code engines} (null: the real ones). */
    TopologyFixture(final Models models, final Path stateDir, final Map<String, String> settings,
                    final AttentionEngine.Factory engines) {
        this(models.live(), stateDir, settings, engines);
    }

    TopologyFixture(final LiveModels models, final Path stateDir, final Map<String, String> settings,
                    final AttentionEngine.Factory engines) {
        this.config = SeqembedConfig.from(Map.of("bootstrap.servers", "unused:9092",
                "state.dir", stateDir.toString()), settings);
        final Properties props = config.streamsProperties();
        ProcessingErrorHandler.install(props, telemetry);
        driver = new TopologyTestDriver(SeqembedTopology.ingest(config, models, telemetry), props, time);
        final Properties attentionProps = new Properties();
        attentionProps.putAll(props);
        attentionProps.put(StreamsConfig.APPLICATION_ID_CONFIG,
                config.applicationId() + SeqembedTopology.ATTENTION_APP_SUFFIX);
        attentionDriver = new TopologyTestDriver(engines == null ? SeqembedTopology.attention(config, models, telemetry)
                : SeqembedTopology.attention(config, models, engines, telemetry), attentionProps, time);
        tokens = driver.createInputTopic(config.topicTokens(), new ByteArraySerializer(), new ByteArraySerializer());
        dense = driver.createOutputTopic(config.topicEmbeddingsDense(), new StringDeserializer(),
                RecordSerdes.embedding().deserializer());
        dlq = driver.createOutputTopic(config.topicDlq(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        chunksOut = driver.createOutputTopic(config.topicAttentionChunks(), new StringDeserializer(),
                RecordSerdes.tokenChunk().deserializer());
        chunksIn = attentionDriver.createInputTopic(config.topicAttentionChunks(), new StringSerializer(),
                RecordSerdes.tokenChunk().serializer());
        attentionDlq = attentionDriver.createOutputTopic(config.topicDlq(), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        attention = attentionDriver.createOutputTopic(config.topicEmbeddingsAttention(), new StringDeserializer(),
                RecordSerdes.embedding().deserializer());
    }

    /**
     * Writes entries (raw key and value bytes) into a persistent store of a topology before a fixture on
     * {@code stateDir} opens it, with a checkpoint for each of the task's {@code stores}: what a restart finds once
     * it has restored the changelogs, a corrupt record included. {@code applicationId} is the client's (the attention
     * client's ends in {@link SeqembedTopology#ATTENTION_APP_SUFFIX}); the driver runs one task, 0_0.
     */
    static void restored(final Path stateDir, final String applicationId, final List<String> stores,
                         final String store, final Map<byte[], byte[]> entries) throws IOException {
        final Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        final Path taskDir = stateDir.resolve(applicationId).resolve("0_0");
        final MockProcessorContext<Object, Object> context = new MockProcessorContext<>(props, new TaskId(0, 0),
                taskDir.toFile());
        final KeyValueStore<Bytes, byte[]> rocks = Stores.persistentKeyValueStore(store).get();
        rocks.init(context.getStateStoreContext(), rocks);
        entries.forEach((k, v) -> rocks.put(Bytes.wrap(k), v));
        rocks.close();
        // Under exactly-once a task's non-empty state without a checkpoint is wiped as possibly uncommitted.
        final Map<TopicPartition, Long> checkpoint = new HashMap<>();
        for (final String name : stores) {
            checkpoint.put(new TopicPartition(applicationId + "-" + name + "-changelog", 0), 0L);
        }
        new OffsetCheckpoint(taskDir.resolve(".checkpoint").toFile()).write(checkpoint);
    }

    /** The ingest client's application id for fixtures on these settings. */
    static String ingestApplicationId(final Map<String, String> settings) {
        return SeqembedConfig.from(Map.of("bootstrap.servers", "unused:9092"), settings).applicationId();
    }

    /** The attention client's application id for fixtures on these settings. */
    static String attentionApplicationId(final Map<String, String> settings) {
        return ingestApplicationId(settings) + SeqembedTopology.ATTENTION_APP_SUFFIX;
    }

    void send(final TokenChunk chunk) {
        send(chunk.getSequenceId(), RecordSerdes.tokenChunk().encode(chunk));
    }

    void send(final String key, final byte[] value) {
        time = time.plusMillis(1);
        tokens.pipeInput(new TestRecord<>(key == null ? null : key.getBytes(StandardCharsets.UTF_8), value, time));
        pumpChunks();
    }

    /** Hands a validated chunk to the attention client directly, as the chunks topic would. */
    void sendToAttention(final TokenChunk chunk) {
        time = time.plusMillis(1);
        chunksIn.pipeInput(new TestRecord<>(chunk.getSequenceId(), chunk, time));
    }

    /** Lets the wall-clock punctuators run (dense batch flush, idle eviction). */
    void advance(final Duration d) {
        driver.advanceWallClockTime(d);
        attentionDriver.advanceWallClockTime(d);
        pumpChunks();
    }

    List<Embedding> denseOut() {
        advance(Duration.ofMillis(config.denseBatchMaxWaitMs() + 1));
        return dense.readValuesToList();
    }

    /** Attention embeddings so far, after letting a micro-batch's wait run out. */
    List<Embedding> attentionOut() {
        settleAttention();
        return attention.readValuesToList();
    }

    /** Lets the attention micro-batch's wait run out: everything sent so far has been computed (or dead-lettered). */
    void settleAttention() {
        advance(Duration.ofMillis(config.attentionBatchMaxWaitMs() + 1));
    }

    /** Carries what the ingest topology wrote to the chunks topic over to the attention topology. */
    private void pumpChunks() {
        for (final TestRecord<String, TokenChunk> r : chunksOut.readRecordsToList()) {
            chunksIn.pipeInput(r);
        }
    }

    @Override
    public void close() {
        driver.close();
        attentionDriver.close();
    }
}
