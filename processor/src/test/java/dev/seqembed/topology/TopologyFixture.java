package dev.seqembed.topology;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
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

    void send(final TokenChunk chunk) {
        send(chunk.getSequenceId(), RecordSerdes.tokenChunk().encode(chunk));
    }

    void send(final String key, final byte[] value) {
        time = time.plusMillis(1);
        tokens.pipeInput(new TestRecord<>(key == null ? null : key.getBytes(StandardCharsets.UTF_8), value, time));
        pumpChunks();
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

    /** Attention embeddings so far, after letting an encoder micro-batch's wait run out. */
    List<Embedding> attentionOut() {
        advance(Duration.ofMillis(config.attentionBatchMaxWaitMs() + 1));
        return attention.readValuesToList();
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
