package dev.seqembed.processor;

import java.nio.charset.StandardCharsets;
import java.util.Set;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionBounds;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.ErrorCode;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.engine.ModelUsage;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.state.KvCacheStore;

/**
 * Attention in {@code causal} mode: each chunk is computed when it arrives, against its sequence's per-layer
 * K/V cache kept in a changelogged store, so a chunk costs O(chunk × prefix) instead of a full recompute.
 * One Embedding per chunk; the {@code last} chunk frees the cache.
 *
 * <p>The store's layout (header and blocks per sequence, the closed marker) is {@link KvCacheStore}'s.
 *
 * <p>Model hot swap (SPEC §10.5): a cache is only meaningful to the model that built it, and its header names
 * that model. A sequence goes on with it while {@link LiveModels} keeps it loaded (new sequences start on the
 * current one). If that model is no longer loaded (a restart or rebalance since), the sequence is closed and
 * its chunks are dead-lettered with {@link ErrorCode#MODEL_CHANGED}, this one and the later ones, until its
 * {@code last} chunk.
 */
public final class AttentionCausal extends ContextualProcessor<String, TokenChunk, String, Embedding> {

    public static final String STORE = "attention-kv-cache";
    /** The child that receives the Embeddings (of either attention processor). */
    public static final String EMBEDDINGS = "attention-out";
    /**
     * The child that receives {@link SequenceEvent#reject dead letters} ({@link DeadLetterWriter}) of either attention
     * processor.
     */
    public static final String DEAD_LETTERS = "attention-dead-letters";

    private final AttentionEngine.Factory engines;
    private final LiveModels models;
    private final int maxPositions;
    private final int blockTokens;
    private final Telemetry telemetry;
    private AttentionEngine engine;
    private KeyValueStore<String, byte[]> store;
    private ModelUsage usage;

    AttentionCausal(final AttentionEngine.Factory engines, final LiveModels models, final int maxPositions,
                    final int blockTokens, final Telemetry telemetry) {
        this.engines = engines;
        this.models = models;
        this.maxPositions = maxPositions;
        this.blockTokens = blockTokens;
        this.telemetry = telemetry;
    }

    /**
     * The supplier, declaring this processor's store.
     *
     * @param blockTokens tokens per stored K/V block
     */
    public static ProcessorSupplier<String, TokenChunk, String, Embedding> supplier(
            final AttentionEngine.Factory engines, final LiveModels models, final int maxPositions,
            final int blockTokens, final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, TokenChunk, String, Embedding> get() {
                return new AttentionCausal(engines, models, maxPositions, blockTokens, telemetry);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                return Set.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                        Serdes.String(), Serdes.ByteArray()));
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, Embedding> context) {
        super.init(context);
        store = context.getStateStore(STORE);
        engine = engines.create(context::currentSystemTimeMs);
        usage = models.usage(STORE + "-" + context.taskId());
        KvCacheStore.modelsInStore(store).forEach(usage::started);
    }

    @Override
    public void close() {
        usage.close();
    }

    @Override
    public void process(final Record<String, TokenChunk> record) {
        if (record.value() == null) {
            delete(record.key());
            return;
        }
        final String id = record.value().getSequenceId();
        if (KvCacheStore.failed(store, id)) {
            if (record.value().getLast()) {
                delete(id);
            }
            throw ClosedSequences.closedEarlier(id);
        }
        try {
            apply(record, record.value());
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            // A corrupt cache entry or a model error: free the sequence's cache, close the sequence, go on.
            delete(id);
            if (!record.value().getLast()) {
                KvCacheStore.markFailed(store, id);
            }
            throw ProcessingFailure.ofChunk(record.value(), "causal attention", e);
        }
    }

    private void apply(final Record<String, TokenChunk> record, final TokenChunk chunk) {
        final String id = chunk.getSequenceId();
        final KvCache held = KvCacheStore.load(store, id);
        final String closedOn = held == null ? KvCacheStore.closedOn(store, id) : null;
        final BertModel model = held == null ? models.attention() : models.attention(held.modelSha256());
        if (closedOn != null || model == null) {
            modelChanged(record, chunk, held, closedOn);
            return;
        }
        final KvCache cache = held == null ? model.newCache() : held;
        usage.started(id, model.sha256());
        final int before = cache.length();
        // Truncation (attention.overflow=truncate): positions past the model's last one are dropped.
        final int[] tokens = AttentionBounds.fitting(Vectors.toIntArray(chunk.getTokens()), before, maxPositions);
        final Embedding e = engine.on(model).causal(id, cache, chunk.getChunkIndex(), tokens, chunk.getLast(),
                record.timestamp());
        if (chunk.getLast()) {
            delete(id);
        } else {
            KvCacheStore.save(store, id, cache, before, blockTokens);
        }
        telemetry.embedding(e);
        context().forward(new Record<>(id, e, record.timestamp()), EMBEDDINGS);
    }

    /**
     * Closes a sequence whose cache was built by a model that is no longer loaded, or answers a later chunk of
     * one closed so: the chunk goes to the dead-letter topic; a marker keeps the sequence closed until its last
     * chunk (without it, the next chunk would start a new cache at position 0).
     */
    private void modelChanged(final Record<String, TokenChunk> record, final TokenChunk chunk, final KvCache held,
                              final String closedOn) {
        final String id = chunk.getSequenceId();
        final String builtBy = held == null ? closedOn
                : held.modelSha256() != null ? held.modelSha256() : "unknown (a cache written before models were named)";
        delete(id);
        if (!chunk.getLast()) {
            KvCacheStore.markClosed(store, id, builtBy);
        }
        final String message = (held != null ? "sequence closed: its KV cache was built by model "
                : "sequence was closed: its KV cache had been built by model ") + builtBy
                + ", which is no longer loaded (current " + models.attention().sha256() + ")";
        final RecordMetadata from = context().recordMetadata().orElse(null);
        final DeadLetter dl = new DeadLetter(id.getBytes(StandardCharsets.UTF_8),
                dev.seqembed.serde.RecordSerdes.tokenChunk().encode(chunk), ErrorCode.MODEL_CHANGED, message,
                from == null ? "" : from.topic(), from == null ? -1 : from.partition(),
                from == null ? -1 : from.offset());
        DeadLetterWriter.forward(context(), DEAD_LETTERS, id, dl, record.timestamp());
    }

    /** Drops everything the sequence holds: its cache, its closed marker, its hold on a model. */
    private void delete(final String id) {
        usage.ended(id);
        KvCacheStore.delete(store, id);
    }
}
