package dev.seqembed.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.function.Function;

import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Settings: defaults, layering, environment mapping, pass-through to Kafka Streams, errors (SPEC §5, §8). */
class SeqembedConfigTest {

    @Test
    void defaults() {
        final SeqembedConfig c = SeqembedConfig.defaultConfig();
        assertThat(c.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo(StreamsConfig.EXACTLY_ONCE_V2)
                .isEqualTo("exactly_once_v2");
        assertThat(c.applicationId()).isEqualTo("seqembed");
        assertThat(c.topicTokens()).isEqualTo("tokens");
        assertThat(c.topicDlq()).isEqualTo("tokens.dlq");
        assertThat(c.topicWindows()).isEqualTo("windows");
        assertThat(c.topicEmbeddingsDense()).isEqualTo("embeddings.dense");
        assertThat(c.topicEmbeddingsAttention()).isEqualTo("embeddings.attention");
        assertThat(c.attentionMode()).isEqualTo(AttentionMode.ENCODER);
        assertThat(c.attentionPoolingCls()).isFalse();
        assertThat(c.attentionNormalize()).isTrue();
        assertThat(c.attentionOverflow()).isEqualTo(AttentionOverflow.REJECT);
        assertThat(c.attentionWindowStride(512)).isEqualTo(256);
        assertThat(c.httpPort()).isEqualTo(8080);
        assertThat(c.denseBatchMaxWindows()).isPositive();
        assertThat(c.denseBatchMaxWaitMs()).isPositive();
        assertThat(c.stateIdleTimeoutMs()).isPositive();
        assertThat(c.stateMaxBytesPerSequence()).isPositive();
        assertThat(c.createTopics()).isTrue();
        assertThat(c.get("bootstrap.servers")).isNull();

        final Properties p = c.streamsProperties();
        assertThat(p.getProperty(StreamsConfig.PROCESSING_GUARANTEE_CONFIG)).isEqualTo("exactly_once_v2");
        assertThat(p.getProperty(StreamsConfig.APPLICATION_ID_CONFIG)).isEqualTo("seqembed");
        assertThat(SeqembedConfig.from()).usingRecursiveComparison().isEqualTo(c);
    }

    @Test
    void theProcessingHandlerIsEnabledForTheGlobalThreadAlsoWhereThePartitionAssignorReadsItsSettings() {
        final StreamsConfig streams = new StreamsConfig(SeqembedConfig.from(Map.of("bootstrap.servers", "x:9092"))
                .streamsProperties());
        assertThat(streams.getBoolean("processing.exception.handler.global.enabled")).isTrue();
        // The assignor builds a StreamsConfig from these; without the key it warns at every consumer start.
        assertThat(streams.getMainConsumerConfigs("group", "client", 0))
                .containsEntry("processing.exception.handler.global.enabled", "true");
    }

    @Test
    void laterLayersWinFileThenEnvironmentThenFlags() {
        final Map<String, String> file = Map.of("attention.mode", "causal", "dense.batch.max-windows", "8",
                "http.port", "9000", "application.id", "from-file");
        final Map<String, String> env = SeqembedConfig.fromEnvironment(Map.of(
                "SEQEMBED_DENSE_BATCH_MAX__WINDOWS", "16", "SEQEMBED_HTTP_PORT", "9001"));
        final Map<String, String> flags = Map.of("http.port", "9002");
        final SeqembedConfig c = SeqembedConfig.from(file, env, flags);
        assertThat(c.attentionMode()).as("file over default").isEqualTo(AttentionMode.CAUSAL);
        assertThat(c.applicationId()).as("file over default").isEqualTo("from-file");
        assertThat(c.denseBatchMaxWindows()).as("env over file").isEqualTo(16);
        assertThat(c.httpPort()).as("flags over env").isEqualTo(9002);
        assertThat(c.topicTokens()).as("untouched default").isEqualTo("tokens");
    }

    @Test
    void aNullValueInALayerDoesNotEraseTheLowerOne() {
        final Map<String, String> flags = new HashMap<>();
        flags.put("attention.mode", null);
        assertThat(SeqembedConfig.from(Map.of("attention.mode", "causal"), flags).attentionMode())
                .isEqualTo(AttentionMode.CAUSAL);
    }

    @Test
    void laterChangesToTheSourceMapsDoNotLeakIn() {
        final Map<String, String> file = new HashMap<>(Map.of("attention.mode", "causal"));
        final SeqembedConfig c = SeqembedConfig.from(file);
        file.put("attention.mode", "encoder");
        assertThat(c.attentionMode()).isEqualTo(AttentionMode.CAUSAL);
        final SeqembedConfig changed = c.with("attention.mode", "encoder");
        assertThat(changed.attentionMode()).isEqualTo(AttentionMode.ENCODER);
        assertThat(c.attentionMode()).as("with() returns a copy").isEqualTo(AttentionMode.CAUSAL);
    }

    @ParameterizedTest
    @CsvSource({
        "SEQEMBED_ATTENTION_MODE, attention.mode",
        "SEQEMBED_DENSE_BATCH_MAX__WINDOWS, dense.batch.max-windows",
        "SEQEMBED_DENSE_BATCH_MAX__WAIT__MS, dense.batch.max-wait-ms",
        "SEQEMBED_STATE_IDLE__TIMEOUT, state.idle-timeout",
        "SEQEMBED_STATE_MAX__BYTES__PER__SEQUENCE, state.max-bytes-per-sequence",
        "SEQEMBED_BOOTSTRAP_SERVERS, bootstrap.servers",
        "SEQEMBED_SECURITY_PROTOCOL, security.protocol",
        "SEQEMBED_APPLICATION_ID, application.id"})
    void environmentNamesMapToKeys(final String variable, final String key) {
        assertThat(SeqembedConfig.fromEnvironment(Map.of(variable, "v"))).containsExactly(Map.entry(key, "v"));
    }

    @Test
    void onlySeqembedVariablesAreRead() {
        assertThat(SeqembedConfig.fromEnvironment(Map.of("PATH", "/bin", "HOME", "/root", "SEQEMBED_", "x",
                "seqembed_attention_mode", "causal", "KAFKA_SEQEMBED_X", "y"))).isEmpty();
    }

    @Test
    void environmentMappingFeedsTheTypedGetters() {
        final SeqembedConfig c = SeqembedConfig.from(SeqembedConfig.fromEnvironment(Map.of(
                "SEQEMBED_ATTENTION_MODE", "causal", "SEQEMBED_DENSE_BATCH_MAX__WINDOWS", "5")));
        assertThat(c.attentionMode()).isEqualTo(AttentionMode.CAUSAL);
        assertThat(c.denseBatchMaxWindows()).isEqualTo(5);
    }

    @Test
    void unknownKeysPassThroughToKafkaStreamsAndOwnKeysDoNot() {
        final SeqembedConfig c = SeqembedConfig.from(Map.of(
                "bootstrap.servers", "b:9092",
                "security.protocol", "SASL_SSL",
                "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required;",
                "ssl.truststore.password", "secret",
                "state.dir", "/var/lib/seqembed",
                "producer.compression.type", "zstd",
                "some.future.kafka.setting", "x",
                "num.stream.threads", "3"));
        final Properties p = c.streamsProperties();
        assertThat(p).containsEntry("bootstrap.servers", "b:9092")
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required;")
                .containsEntry("ssl.truststore.password", "secret")
                .containsEntry("state.dir", "/var/lib/seqembed")
                .containsEntry("producer.compression.type", "zstd")
                .containsEntry("some.future.kafka.setting", "x")
                .containsEntry("num.stream.threads", "3")
                .containsEntry("application.id", "seqembed")
                .containsEntry("processing.guarantee", "exactly_once_v2");
        assertThat(p.stringPropertyNames()).doesNotContain(
                SeqembedConfig.TOPIC_TOKENS, SeqembedConfig.TOPIC_DLQ, SeqembedConfig.TOPIC_WINDOWS,
                SeqembedConfig.TOPIC_EMBEDDINGS_DENSE, SeqembedConfig.TOPIC_EMBEDDINGS_ATTENTION,
                SeqembedConfig.TOPIC_PARTITIONS, SeqembedConfig.TOPIC_REPLICATION, SeqembedConfig.TOPIC_CREATE,
                SeqembedConfig.DENSE_BATCH_MAX_WINDOWS, SeqembedConfig.DENSE_BATCH_MAX_WAIT_MS,
                SeqembedConfig.ATTENTION_MODE, SeqembedConfig.ATTENTION_POOLING, SeqembedConfig.ATTENTION_NORMALIZE,
                SeqembedConfig.ATTENTION_OVERFLOW, SeqembedConfig.STATE_IDLE_TIMEOUT_MS,
                SeqembedConfig.STATE_MAX_BYTES, SeqembedConfig.HTTP_PORT);
        assertThat(p.stringPropertyNames()).allSatisfy(k -> assertThat(k)
                .doesNotStartWith("topic.").doesNotStartWith("dense.").doesNotStartWith("attention.")
                .doesNotStartWith("http.").doesNotStartWith("native."));
        // The pass-through set is accepted by Kafka Streams itself.
        final StreamsConfig streams = new StreamsConfig(c.streamsProperties());
        assertThat(streams.getString(StreamsConfig.STATE_DIR_CONFIG)).isEqualTo("/var/lib/seqembed");
    }

    /**
     * Issue 10.1: {@code num.standby.replicas} is Kafka Streams' own setting, so it passes through from every source
     * (a {@code --config} file, {@code SEQEMBED_*}, {@code -D}); both clients are built from these properties.
     */
    @Test
    void standbyReplicasPassThroughFromFileEnvironmentAndFlags() {
        final String key = StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG;
        final Map<String, String> cluster = Map.of("bootstrap.servers", "b:9092");
        final Map<String, String> file = Map.of(key, "1");
        final Map<String, String> env = SeqembedConfig.fromEnvironment(Map.of("SEQEMBED_NUM_STANDBY_REPLICAS", "2"));
        final Map<String, String> flags = Map.of(key, "3");
        final Function<SeqembedConfig, Integer> standbys = c -> new StreamsConfig(c.streamsProperties()).getInt(key);
        assertThat(standbys.apply(SeqembedConfig.from(cluster))).isZero();
        assertThat(standbys.apply(SeqembedConfig.from(cluster, file))).isEqualTo(1);
        assertThat(standbys.apply(SeqembedConfig.from(cluster, file, env))).isEqualTo(2);
        assertThat(standbys.apply(SeqembedConfig.from(cluster, file, env, flags))).isEqualTo(3);
    }

    @Test
    void ownKeysGivenAsModelPathsAndNativeThreadsDoNotPassThrough() {
        final Properties p = SeqembedConfig.from(Map.of(SeqembedConfig.DENSE_MODEL, "/m/dense",
                SeqembedConfig.ATTENTION_MODEL, "/m/attention", SeqembedConfig.NATIVE_THREADS, "2")).streamsProperties();
        assertThat(p.stringPropertyNames()).doesNotContain(SeqembedConfig.DENSE_MODEL, SeqembedConfig.ATTENTION_MODEL,
                SeqembedConfig.NATIVE_THREADS);
    }

    /**
     * Kafka Streams' own {@code topic.} prefix ({@link StreamsConfig#TOPIC_PREFIX}) configures its internal changelog
     * and repartition topics, e.g. {@code topic.min.insync.replicas}. SPEC §5: any Kafka Streams property passes
     * through; seqembed claims every {@code topic.*} key as its own and drops them.
     */
    @Test
    void kafkaStreamsInternalTopicSettingsPassThrough() {
        final String key = StreamsConfig.topicPrefix(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
        assertThat(key).isEqualTo("topic.min.insync.replicas");
        final Properties p = SeqembedConfig.from(Map.of(key, "2")).streamsProperties();
        assertThat(p).containsEntry(key, "2");
    }

    @Test
    void describeHidesSecrets() {
        final Map<String, String> d = SeqembedConfig.from(Map.of("ssl.truststore.password", "secret",
                "sasl.jaas.config", "... password=\"x\";", "security.protocol", "SSL")).describe();
        assertThat(d).containsEntry("ssl.truststore.password", "[hidden]")
                .containsEntry("sasl.jaas.config", "[hidden]")
                .containsEntry("security.protocol", "SSL");
        assertThat(d.values()).doesNotContain("secret");
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
        "dense.batch.max-windows, abc",
        "dense.batch.max-windows, 0",
        "dense.batch.max-windows, 99999999999",
        "dense.batch.max-wait-ms, -5",
        "dense.batch.max-wait-ms, 1.5",
        "state.idle-timeout, 0",
        "state.idle-timeout, 30m",
        "state.max-bytes-per-sequence, lots",
        "http.port, -1",
        "topic.partitions, 0",
        "topic.replication-factor, x",
        "topic.create, maybe",
        "attention.mode, bogus",
        "attention.pooling, max",
        "attention.normalize, yes",
        "attention.window-stride, 0",
        "attention.window-stride, 513",
        "attention.window-stride, half",
        "attention.overflow, wrap"})
    void aBadValueIsAConfigExceptionNamingTheKeyAndTheValue(final String key, final String value) {
        final SeqembedConfig c = SeqembedConfig.from(Map.of(key, value));
        final Map<String, Consumer<SeqembedConfig>> getters = Map.ofEntries(
                Map.entry("dense.batch.max-windows", SeqembedConfig::denseBatchMaxWindows),
                Map.entry("dense.batch.max-wait-ms", SeqembedConfig::denseBatchMaxWaitMs),
                Map.entry("state.idle-timeout", SeqembedConfig::stateIdleTimeoutMs),
                Map.entry("state.max-bytes-per-sequence", SeqembedConfig::stateMaxBytesPerSequence),
                Map.entry("http.port", SeqembedConfig::httpPort),
                Map.entry("topic.partitions", SeqembedConfig::topicPartitions),
                Map.entry("topic.replication-factor", SeqembedConfig::topicReplication),
                Map.entry("topic.create", SeqembedConfig::createTopics),
                Map.entry("attention.mode", SeqembedConfig::attentionMode),
                Map.entry("attention.pooling", SeqembedConfig::attentionPoolingCls),
                Map.entry("attention.normalize", SeqembedConfig::attentionNormalize),
                Map.entry("attention.overflow", SeqembedConfig::attentionOverflow),
                Map.entry("attention.window-stride", conf -> conf.attentionWindowStride(512)));
        assertThatThrownBy(() -> getters.get(key).accept(c))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(key)
                .hasMessageContaining(value);
    }

    @ParameterizedTest
    @CsvSource({"CAUSAL, CAUSAL", "' causal ', CAUSAL", "Encoder, ENCODER"})
    void attentionModeIsCaseAndSpaceInsensitive(final String raw, final AttentionMode mode) {
        assertThat(SeqembedConfig.from(Map.of("attention.mode", raw)).attentionMode()).isEqualTo(mode);
    }

    @Test
    void httpPortZeroMeansOff() {
        assertThat(SeqembedConfig.from(Map.of("http.port", "0")).httpPort()).isZero();
    }

    @Test
    void windowOverflowAndItsStride() {
        final SeqembedConfig c = SeqembedConfig.from(Map.of("attention.overflow", " Window ",
                "attention.window-stride", "100"));
        assertThat(c.attentionOverflow()).isEqualTo(AttentionOverflow.WINDOW);
        assertThat(c.attentionWindowStride(512)).isEqualTo(100);
        assertThat(SeqembedConfig.from(Map.of("attention.window-stride", "p/2")).attentionWindowStride(7)).isEqualTo(3);
        assertThat(SeqembedConfig.from(Map.of("attention.window-stride", "512")).attentionWindowStride(512))
                .isEqualTo(512);
    }

    @Test
    void windowOverflowIsRefusedInCausalMode() {
        assertThatThrownBy(() -> SeqembedConfig.from(Map.of("attention.overflow", "window", "attention.mode",
                "causal")).attentionOverflow())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("attention.overflow=window").hasMessageContaining("encoder");
        assertThat(SeqembedConfig.from(Map.of("attention.overflow", "truncate", "attention.mode", "causal"))
                .attentionOverflow()).isEqualTo(AttentionOverflow.TRUNCATE);
    }
}
