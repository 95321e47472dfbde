package dev.seqembed.topology;

import java.util.List;

import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;

import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.engine.AttentionBounds;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.engine.ValidationRules;
import dev.seqembed.engine.WindowSlicer;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.Pooling;
import dev.seqembed.processor.AttentionBatching;
import dev.seqembed.processor.AttentionCausal;
import dev.seqembed.processor.AttentionEncoder;
import dev.seqembed.processor.AttentionFeed;
import dev.seqembed.processor.ChunkValidator;
import dev.seqembed.processor.DeadLetterWriter;
import dev.seqembed.processor.DenseBatcher;
import dev.seqembed.processor.WindowAssembler;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.state.KvCacheStore;

/**
 * The processor's two topologies (SPEC §1), shared by the application and its tests. They run as two Kafka
 * Streams clients in one process, so that a long attention forward pass never occupies a stream thread the
 * dense path needs; the internal chunks topic between them is written and read with exactly-once.
 * <pre>
 *   ingest:    tokens ─► validate ─┬─► dead-letters ─► tokens.dlq
 *                                  ├─► windower ─┬─► windows
 *                                  │             └─► dense (micro-batched) ─► embeddings.dense,
 *                                  │                                           dead-letters
 *                                  └─► attention feed ─► &lt;app-id&gt;-attention-chunks
 *   attention: &lt;app-id&gt;-attention-chunks ─► attention (encoder | causal) ─► embeddings.attention,
 *                                                                      dead-letters ─► tokens.dlq
 * </pre>
 * Dead letters come from the validator (bad input), from a processor that found an unreadable entry in its store
 * at start and from the causal path's MODEL_CHANGED; records failing after validation are dead-lettered by
 * {@link dev.seqembed.processor.ProcessingErrorHandler}.
 */
public final class SeqembedTopology {

    /** Suffix of the attention client's application.id (and so of its consumer group and state). */
    public static final String ATTENTION_APP_SUFFIX = "-attention";

    /**
     * The ingest topology's stores. Their changelogs ({@code <app-id>-<store>-changelog}) are all its internal
     * topics: it has no repartition topics. Kept next to the topology and checked against it by a test.
     */
    public static final List<String> INGEST_STORES = List.of(ChunkValidator.STORE, WindowAssembler.STORE,
            DenseBatcher.STORE);

    /** The attention topology's stores, in either mode ({@code <app-id>-attention-<store>-changelog}). */
    public static final List<String> ATTENTION_STORES = List.of(AttentionEncoder.STORE, AttentionEncoder.READY_STORE,
            AttentionCausal.STORE, AttentionCausal.PENDING_STORE);

    private SeqembedTopology() {
    }

    /** {@link #ingest(SeqembedConfig, LiveModels, Telemetry)} with models that never change. */
    public static Topology ingest(final SeqembedConfig config, final Models models, final Telemetry telemetry) {
        return ingest(config, models.live(), telemetry);
    }

    /**
     * Validation, dead letters, windows and the dense path; hands valid chunks to the attention topology.
     * Validation and windows are built for the models current now; a replacement must keep their vocabulary,
     * window geometry and positions (the model watcher refuses others).
     */
    public static Topology ingest(final SeqembedConfig config, final LiveModels models, final Telemetry telemetry) {
        final BertConfig bert = models.attention().config();
        final ValidationRules rules = ValidationRules.forAttention(config, bert,
                Math.min(models.dense().config().vocabSize(), bert.vocabSize()));

        final Topology t = new Topology();
        t.addSource("tokens", new ByteArrayDeserializer(), new ByteArrayDeserializer(), config.topicTokens());
        t.addProcessor("validate", ChunkValidator.supplier(rules, telemetry), "tokens");

        t.addProcessor("windower", WindowAssembler.supplier(new WindowSlicer(models.dense().config())), "validate");
        // Windows go to the windows topic for whoever reads it, and straight on to the dense batcher in the same
        // task and transaction: not through the topic, which would cost a read_committed hop (a commit interval
        // of latency) and a consume and decode per window.
        t.addSink("windows-out", config.topicWindows(), new StringSerializer(), RecordSerdes.windowRecord().serializer(),
                "windower");
        t.addProcessor("dense", DenseBatcher.supplier(models::dense, config.denseBatchMaxWindows(),
                config.denseBatchMaxWaitMs(), telemetry), "windower");
        t.addSink(DenseBatcher.EMBEDDINGS, config.topicEmbeddingsDense(), new StringSerializer(),
                RecordSerdes.embedding().serializer(), "dense");

        t.addProcessor(DenseBatcher.DEAD_LETTERS, () -> new DeadLetterWriter(telemetry), "validate", "dense");
        t.addSink("dlq", config.topicDlq(), new ByteArraySerializer(), new ByteArraySerializer(),
                DenseBatcher.DEAD_LETTERS);

        t.addProcessor("attention-feed", AttentionFeed::new, "validate");
        t.addSink("attention-chunks-out", config.topicAttentionChunks(), new StringSerializer(),
                RecordSerdes.tokenChunk().serializer(), "attention-feed");
        return t;
    }

    /** {@link #attention(SeqembedConfig, LiveModels, Telemetry)} with models that never change. */
    public static Topology attention(final SeqembedConfig config, final Models models, final Telemetry telemetry) {
        return attention(config, models.live(), telemetry);
    }

    /**
     * The attention path: validated chunks in, one Embedding per sequence (encoder) or per chunk (causal).
     * Causal mode dead-letters the chunks of sequences whose model is gone (MODEL_CHANGED, SPEC §10.5); encoder mode
     * the unreadable entries it finds in its stores at start.
     */
    public static Topology attention(final SeqembedConfig config, final LiveModels models,
                                     final Telemetry telemetry) {
        final Pooling pooling = config.attentionPoolingCls() ? Pooling.CLS : Pooling.MEAN;
        final boolean normalize = config.attentionNormalize();
        return attention(config, models, clock -> new AttentionEngine(models.attention(), pooling, normalize, clock),
                telemetry);
    }

    /** The attention path computed by the given engines (tests inject failing ones). */
    public static Topology attention(final SeqembedConfig config, final LiveModels models,
                                     final AttentionEngine.Factory engines, final Telemetry telemetry) {
        final BertConfig bert = models.attention().config();
        final int positions = bert.maxPositionEmbeddings();
        final Topology t = new Topology();
        t.addSource("attention-chunks-in", new StringDeserializer(), RecordSerdes.tokenChunk().deserializer(),
                config.topicAttentionChunks());
        final boolean causal = config.attentionMode() == AttentionMode.CAUSAL;
        final AttentionBatching batching = new AttentionBatching(config.attentionBatchMaxTokens(),
                config.attentionBatchMaxWaitMs());
        t.addProcessor(AttentionCausal.NODE, causal
                ? AttentionCausal.supplier(engines, models, positions, KvCacheStore.blockTokens(
                        bert.numHiddenLayers(), bert.hiddenSize(), config.attentionKvBlockBytes()), batching, telemetry)
                : AttentionEncoder.supplier(engines, models, positions,
                        AttentionBounds.windowStride(config, positions), batching, telemetry),
                "attention-chunks-in");
        t.addSink(AttentionCausal.EMBEDDINGS, config.topicEmbeddingsAttention(), new StringSerializer(),
                RecordSerdes.embedding().serializer(), AttentionCausal.NODE);
        t.addProcessor(AttentionCausal.DEAD_LETTERS, () -> new DeadLetterWriter(telemetry), AttentionCausal.NODE);
        t.addSink("attention-dlq", config.topicDlq(), new ByteArraySerializer(), new ByteArraySerializer(),
                AttentionCausal.DEAD_LETTERS);
        return t;
    }
}
