package dev.seqembed.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Every setting of seqembed with its production default, in one place.
 *
 * <p>Keys are the ones of SPEC.md ({@code attention.mode}, {@code dense.batch.max-windows}, …). Sources are
 * layered by {@link #from(Map)}: defaults, then a config file, then {@code SEQEMBED_*} environment variables,
 * then command-line flags. Keys that are not seqembed's own pass through to Kafka Streams unchanged, so any
 * client or security setting works without seqembed knowing it.
 */
public final class SeqembedConfig {

    public static final String TOPIC_TOKENS = "topic.tokens";
    public static final String TOPIC_DLQ = "topic.dlq";
    public static final String TOPIC_WINDOWS = "topic.windows";
    public static final String TOPIC_EMBEDDINGS_DENSE = "topic.embeddings.dense";
    public static final String TOPIC_EMBEDDINGS_ATTENTION = "topic.embeddings.attention";
    /** Internal topic feeding the attention sub-topology; default {@code <application.id>-attention-chunks}. */
    public static final String TOPIC_ATTENTION_CHUNKS = "topic.attention-chunks";
    public static final String TOPIC_PARTITIONS = "topic.partitions";
    public static final String TOPIC_REPLICATION = "topic.replication-factor";
    public static final String TOPIC_CREATE = "topic.create";

    public static final String DENSE_MODEL = "dense.model";
    public static final String DENSE_BATCH_MAX_WINDOWS = "dense.batch.max-windows";
    public static final String DENSE_BATCH_MAX_WAIT_MS = "dense.batch.max-wait-ms";
    public static final String ATTENTION_BATCH_MAX_TOKENS = "attention.batch.max-tokens";
    public static final String ATTENTION_BATCH_MAX_WAIT_MS = "attention.batch.max-wait-ms";

    public static final String ATTENTION_MODEL = "attention.model";
    public static final String ATTENTION_MODE = "attention.mode";
    public static final String ATTENTION_POOLING = "attention.pooling";
    public static final String ATTENTION_NORMALIZE = "attention.normalize";
    public static final String ATTENTION_OVERFLOW = "attention.overflow";
    /** Tokens between the starts of consecutive windows under {@code attention.overflow=window}. */
    public static final String ATTENTION_WINDOW_STRIDE = "attention.window-stride";
    /** The default of {@link #ATTENTION_WINDOW_STRIDE}: half the attention model's positions. */
    public static final String HALF_THE_POSITIONS = "P/2";
    public static final String ATTENTION_KV_BLOCK_BYTES = "attention.kv-block-bytes";

    /** Whether {@code run} watches its model directories and swaps in changed models (SPEC §10.5). */
    public static final String MODELS_WATCH = "models.watch";
    /** How often the model directories are checked for a change. */
    public static final String MODELS_WATCH_INTERVAL_MS = "models.watch-interval-ms";

    public static final String STATE_IDLE_TIMEOUT_MS = "state.idle-timeout";
    public static final String STATE_MAX_BYTES = "state.max-bytes-per-sequence";

    public static final String HTTP_PORT = "http.port";

    /** Which clients this instance runs: all | ingest | attention (SPEC §10.4). */
    public static final String ROLE = "role";
    /**
     * Stable name of this instance, the base of its {@code group.instance.id} (static membership); default: host name
     * and a hash of the state directory, so a restarted instance on the same state takes its place back.
     */
    public static final String INSTANCE_NAME = "instance.name";
    /** Static group membership (KIP-345) on/off: a restarted instance gets its partitions back without a rebalance. */
    public static final String INSTANCE_STATIC_MEMBERSHIP = "instance.static-membership";
    /**
     * Off-heap memory of all RocksDB stores of the process: one shared block cache of this size, which the write
     * buffers (memtables) are charged to as well. Read by {@code BoundedRocksDbConfig}; passed through to Streams.
     */
    public static final String ROCKSDB_MEMORY_BYTES = "rocksdb.memory-bytes";
    /** The part of {@link #ROCKSDB_MEMORY_BYTES} that memtables may take before RocksDB flushes them. */
    public static final String ROCKSDB_WRITE_BUFFER_BYTES = "rocksdb.write-buffer-bytes";
    public static final String NATIVE_THREADS = "native.threads";

    /** Prefix of environment variables read as settings: {@code SEQEMBED_ATTENTION_MODE=causal}. */
    public static final String ENV_PREFIX = "SEQEMBED_";

    private static final Map<String, String> DEFAULTS = defaults();

    private final Map<String, String> values;

    private SeqembedConfig(final Map<String, String> values) {
        this.values = Map.copyOf(values);
    }

    private static Map<String, String> defaults() {
        final Map<String, String> d = new TreeMap<>();
        d.put(TOPIC_TOKENS, "tokens");
        d.put(TOPIC_DLQ, "tokens.dlq");
        d.put(TOPIC_WINDOWS, "windows");
        d.put(TOPIC_EMBEDDINGS_DENSE, "embeddings.dense");
        d.put(TOPIC_EMBEDDINGS_ATTENTION, "embeddings.attention");
        d.put(TOPIC_PARTITIONS, "4");
        d.put(TOPIC_REPLICATION, "1");
        d.put(TOPIC_CREATE, "true");
        d.put(DENSE_BATCH_MAX_WINDOWS, "64");
        d.put(DENSE_BATCH_MAX_WAIT_MS, "20");
        // Encoder-mode micro-batch: complete sequences that arrive together share one packed forward. 2048
        // tokens is where the projections' GEMMs stop gaining (MiniLM shapes); a lone sequence waits <= 10 ms.
        d.put(ATTENTION_BATCH_MAX_TOKENS, "2048");
        d.put(ATTENTION_BATCH_MAX_WAIT_MS, "10");
        d.put(ATTENTION_MODE, "encoder");
        d.put(ATTENTION_POOLING, "mean");
        d.put(ATTENTION_NORMALIZE, "true");
        d.put(ATTENTION_OVERFLOW, "reject");
        d.put(ATTENTION_WINDOW_STRIDE, HALF_THE_POSITIONS);
        // Causal KV caches are stored in blocks of about this size: far below the 1 MB record limit.
        d.put(ATTENTION_KV_BLOCK_BYTES, String.valueOf(256L << 10));
        d.put(MODELS_WATCH, "true");
        d.put(MODELS_WATCH_INTERVAL_MS, "5000");
        d.put(STATE_IDLE_TIMEOUT_MS, String.valueOf(Duration.ofMinutes(30).toMillis()));
        d.put(STATE_MAX_BYTES, String.valueOf(64L << 20));
        d.put(HTTP_PORT, "8080");
        d.put(ROLE, "all");
        d.put(INSTANCE_STATIC_MEMBERSHIP, "true");
        d.put(ROCKSDB_MEMORY_BYTES, String.valueOf(64L << 20));
        d.put(ROCKSDB_WRITE_BUFFER_BYTES, String.valueOf(16L << 20));
        // rocksdb.config.setter defaults to the runtime's BoundedRocksDbConfig (set there: config sits below runtime).
        // Static members: a restart within this time gets its partitions back without a rebalance; a member that
        // stays away longer is replaced. Covers a JVM restart (~5-10 s) with margin, instead of Kafka's 45 s.
        d.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "30000");
        d.put(StreamsConfig.APPLICATION_ID_CONFIG, "seqembed");
        d.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        // Per client (ingest/dense and attention), four in all: while one thread of a client waits out an
        // exactly-once commit (a producer flush, ~50 ms), the other processes. Measured on 2 cores (bench --e2e,
        // one run against 1): attention 20.8k -> 27.5k tokens/s, ingest-only dense 81k -> 124k tokens/s,
        // half-rate p99 attention 483-528 -> 401 ms. Model threads follow (NativeSetup).
        d.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "2");
        d.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, "true");
        // Kafka Streams 4.3's partition assignor builds its own StreamsConfig from the main consumer's settings,
        // which lack the key above, and so warned at every consumer start that the handler is not enabled.
        d.put(StreamsConfig.mainConsumerPrefix(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG),
                "true");
        // Replication of changelogs and repartition topics: -1 = broker default.
        d.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "-1");
        d.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
        d.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), "5");
        // An embedding is ~1 KB: the default 16 KB batches would hold ~15, so a busy dense path sends many requests.
        d.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), String.valueOf(64 << 10));
        // Kafka Streams' own default under exactly-once, stated because it is the throughput/latency knob: every
        // commit blocks the stream thread until all records sent are acknowledged and the transaction ends.
        d.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        d.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // Each hop between sub-topologies (windows, attention chunks) is read_committed: a fetch parked for the
        // default 500 ms waits out transaction commits that happen every 100 ms. Short waits keep hops short.
        d.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), "50");
        // A batch of attention forwards can take a while: leave ample headroom over one poll loop.
        d.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), "200");
        return d;
    }

    /** The defaults alone. */
    public static SeqembedConfig defaultConfig() {
        return new SeqembedConfig(DEFAULTS);
    }

    /**
     * Layers the given sources over the defaults; later maps win.
     *
     * @param layers e.g. file properties, {@link #fromEnvironment(Map)}, command-line overrides
     */
    @SafeVarargs
    public static SeqembedConfig from(final Map<String, String>... layers) {
        final Map<String, String> merged = new HashMap<>(DEFAULTS);
        for (final Map<String, String> layer : layers) {
            layer.forEach((k, v) -> {
                if (v != null) {
                    merged.put(k, v);
                }
            });
        }
        return new SeqembedConfig(merged);
    }

    /**
     * Settings from {@code SEQEMBED_*} variables: {@code SEQEMBED_ATTENTION_MODE} becomes {@code attention.mode},
     * {@code SEQEMBED_DENSE_BATCH_MAX__WINDOWS} becomes {@code dense.batch.max-windows} ({@code __} = '-').
     */
    public static Map<String, String> fromEnvironment(final Map<String, String> env) {
        final Map<String, String> out = new HashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(ENV_PREFIX) && k.length() > ENV_PREFIX.length()) {
                final String key = k.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT)
                        .replace("__", "-").replace('_', '.');
                out.put(key, v);
            }
        });
        return out;
    }

    /** A copy with one setting changed. */
    public SeqembedConfig with(final String key, final String value) {
        final Map<String, String> copy = new HashMap<>(values);
        copy.put(key, value);
        return new SeqembedConfig(copy);
    }

    public String get(final String key) {
        return values.get(key);
    }

    public String topicTokens() {
        return values.get(TOPIC_TOKENS);
    }

    public String topicDlq() {
        return values.get(TOPIC_DLQ);
    }

    public String topicWindows() {
        return values.get(TOPIC_WINDOWS);
    }

    public String topicEmbeddingsDense() {
        return values.get(TOPIC_EMBEDDINGS_DENSE);
    }

    public String topicEmbeddingsAttention() {
        return values.get(TOPIC_EMBEDDINGS_ATTENTION);
    }

    public String topicAttentionChunks() {
        final String t = values.get(TOPIC_ATTENTION_CHUNKS);
        return t != null ? t : applicationId() + "-attention-chunks";
    }

    public int topicPartitions() {
        return intValue(TOPIC_PARTITIONS, 1);
    }

    public short topicReplication() {
        return (short) intValue(TOPIC_REPLICATION, 1);
    }

    public boolean createTopics() {
        return booleanValue(TOPIC_CREATE);
    }

    public int denseBatchMaxWindows() {
        return intValue(DENSE_BATCH_MAX_WINDOWS, 1);
    }

    public long denseBatchMaxWaitMs() {
        return longValue(DENSE_BATCH_MAX_WAIT_MS, 1);
    }

    /** Encoder mode: a micro-batch of complete sequences flushes at this many tokens (1 = one per forward). */
    public int attentionBatchMaxTokens() {
        return intValue(ATTENTION_BATCH_MAX_TOKENS, 1);
    }

    /** Encoder mode: a micro-batch flushes once its oldest sequence has waited this long. */
    public long attentionBatchMaxWaitMs() {
        return longValue(ATTENTION_BATCH_MAX_WAIT_MS, 0);
    }

    public AttentionMode attentionMode() {
        return AttentionMode.parse(values.get(ATTENTION_MODE));
    }

    public boolean attentionPoolingCls() {
        final String p = values.get(ATTENTION_POOLING).trim().toLowerCase(Locale.ROOT);
        if (!p.equals("mean") && !p.equals("cls")) {
            throw new ConfigException(ATTENTION_POOLING + " must be mean or cls, got '" + p + "'");
        }
        return p.equals("cls");
    }

    public boolean attentionNormalize() {
        return booleanValue(ATTENTION_NORMALIZE);
    }

    /**
     * What happens to sequences longer than the attention model's positions.
     *
     * @throws ConfigException for an unknown value, or {@code window} with {@code attention.mode=causal} (a causal
     *                         sequence's cache spans all its chunks: it cannot restart at position 0)
     */
    public AttentionOverflow attentionOverflow() {
        final AttentionOverflow o = AttentionOverflow.parse(values.get(ATTENTION_OVERFLOW));
        if (o == AttentionOverflow.WINDOW && attentionMode() == AttentionMode.CAUSAL) {
            throw new ConfigException(ATTENTION_OVERFLOW + "=window needs attention.mode=encoder; in causal mode "
                    + "sequences longer than the model's positions follow reject or truncate");
        }
        return o;
    }

    /**
     * Tokens between the starts of consecutive windows (SPEC §10.3).
     *
     * @param positions the attention model's {@code max_position_embeddings} P
     * @return the configured stride in [1, P], or P/2 (at least 1) by default
     */
    public int attentionWindowStride(final int positions) {
        final String raw = values.get(ATTENTION_WINDOW_STRIDE);
        if (raw == null || raw.trim().equalsIgnoreCase(HALF_THE_POSITIONS)) {
            return Math.max(1, positions / 2);
        }
        final int stride = intValue(ATTENTION_WINDOW_STRIDE, 1);
        if (stride > positions) {
            throw new ConfigException(ATTENTION_WINDOW_STRIDE + " " + stride + " is more than the attention model's "
                    + positions + " positions: tokens between windows would never be seen");
        }
        return stride;
    }

    public long attentionKvBlockBytes() {
        return longValue(ATTENTION_KV_BLOCK_BYTES, 1);
    }

    public boolean modelsWatch() {
        return booleanValue(MODELS_WATCH);
    }

    public long modelsWatchIntervalMs() {
        return longValue(MODELS_WATCH_INTERVAL_MS, 1);
    }

    public long stateIdleTimeoutMs() {
        return longValue(STATE_IDLE_TIMEOUT_MS, 1);
    }

    public long stateMaxBytesPerSequence() {
        return longValue(STATE_MAX_BYTES, 1);
    }

    public int httpPort() {
        return intValue(HTTP_PORT, 0);
    }

    public Role role() {
        return Role.parse(values.get(ROLE));
    }

    public boolean staticMembership() {
        return booleanValue(INSTANCE_STATIC_MEMBERSHIP);
    }

    public String applicationId() {
        return values.get(StreamsConfig.APPLICATION_ID_CONFIG);
    }

    /**
     * The Kafka Streams properties: every key that is not seqembed's own, passed through as given.
     */
    public Properties streamsProperties() {
        final Properties p = new Properties();
        values.forEach((k, v) -> {
            if (!isOwnKey(k)) {
                p.put(k, v);
            }
        });
        // Kafka Streams' own name for the error topic, read by the exception handlers.
        p.putIfAbsent(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topicDlq());
        return p;
    }

    /** All settings, for logging at start-up (secrets masked). */
    public Map<String, String> describe() {
        final Map<String, String> out = new TreeMap<>();
        values.forEach((k, v) -> out.put(k, k.contains("password") || k.contains("sasl.jaas") ? "[hidden]" : v));
        return out;
    }

    private static final java.util.Set<String> OWN_TOPIC_KEYS = java.util.Set.of(TOPIC_TOKENS, TOPIC_DLQ,
            TOPIC_WINDOWS, TOPIC_EMBEDDINGS_DENSE, TOPIC_EMBEDDINGS_ATTENTION, TOPIC_ATTENTION_CHUNKS, TOPIC_PARTITIONS,
            TOPIC_REPLICATION,
            TOPIC_CREATE);

    private static boolean isOwnKey(final String key) {
        // Other "topic." keys are Kafka Streams' own settings for its internal topics (StreamsConfig.TOPIC_PREFIX).
        return OWN_TOPIC_KEYS.contains(key) || key.startsWith("dense.") || key.startsWith("attention.")
                || key.equals(STATE_IDLE_TIMEOUT_MS) || key.equals(STATE_MAX_BYTES)
                || key.startsWith("http.") || key.startsWith("native.") || key.startsWith("models.")
                || key.equals(ROLE) || key.startsWith("instance.")
                || key.startsWith("demo.");
    }

    private int intValue(final String key, final int min) {
        final long v = longValue(key, min);
        if (v > Integer.MAX_VALUE) {
            throw new ConfigException(key + " is too large: " + v);
        }
        return (int) v;
    }

    private long longValue(final String key, final long min) {
        final String raw = values.get(key);
        final long v;
        try {
            v = Long.parseLong(raw.trim());
        } catch (final NumberFormatException | NullPointerException e) {
            throw new ConfigException(key + " must be a whole number, got '" + raw + "'");
        }
        if (v < min) {
            throw new ConfigException(key + " must be at least " + min + ", got " + v);
        }
        return v;
    }

    private boolean booleanValue(final String key) {
        final String raw = values.get(key).trim().toLowerCase(Locale.ROOT);
        if (!raw.equals("true") && !raw.equals("false")) {
            throw new ConfigException(key + " must be true or false, got '" + raw + "'");
        }
        return raw.equals("true");
    }
}
