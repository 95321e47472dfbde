package dev.seqembed.processor;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Set;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.KvCache;
import dev.seqembed.state.StateSerde;

/**
 * Attention in {@code causal} mode: each chunk is computed when it arrives, against its sequence's per-layer
 * K/V cache kept in a changelogged store, so a chunk costs O(chunk × prefix) instead of a full recompute.
 * One Embedding per chunk; the {@code last} chunk frees the cache.
 */
public final class AttentionCausal extends ContextualProcessor<String, SequenceEvent, String, Embedding> {

    public static final String STORE = "attention-kv-cache";

    /** KV caches in the model's own compact float32 layout. */
    public static final StateSerde<KvCache> CACHE_SERDE = new StateSerde<>(1,
            c -> ByteBuffer.wrap(c.toBytes()), buf -> {
                final byte[] bytes = new byte[buf.remaining()];
                buf.get(bytes);
                return KvCache.fromBytes(bytes);
            });

    private final AttentionEngine.Factory engines;
    private final int maxPositions;
    private final Telemetry telemetry;
    private AttentionEngine engine;
    private KeyValueStore<String, KvCache> store;

    AttentionCausal(final AttentionEngine.Factory engines, final int maxPositions, final Telemetry telemetry) {
        this.engines = engines;
        this.maxPositions = maxPositions;
        this.telemetry = telemetry;
    }

    /** The supplier, declaring this processor's store. */
    public static ProcessorSupplier<String, SequenceEvent, String, Embedding> supplier(
            final AttentionEngine.Factory engines, final int maxPositions, final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, SequenceEvent, String, Embedding> get() {
                return new AttentionCausal(engines, maxPositions, telemetry);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                return Set.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                        Serdes.String(), CACHE_SERDE));
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, Embedding> context) {
        super.init(context);
        store = context.getStateStore(STORE);
        engine = engines.create(context::currentSystemTimeMs);
    }

    @Override
    public void process(final Record<String, SequenceEvent> record) {
        final SequenceEvent event = record.value();
        if (event.kind() == SequenceEvent.Kind.ABORT) {
            store.delete(event.sequenceId());
        } else if (event.kind() == SequenceEvent.Kind.CHUNK) {
            apply(record, event.chunk());
        }
    }

    private void apply(final Record<String, SequenceEvent> record, final TokenChunk chunk) {
        final String id = chunk.getSequenceId();
        final KvCache held = store.get(id);
        final KvCache cache = held == null ? engine.model().newCache() : held;
        final int[] added = Vectors.toIntArray(chunk.getTokens());
        // Truncation (attention.overflow=truncate): positions past the model's last one are dropped.
        final int[] tokens = Arrays.copyOf(added, Math.min(added.length, Math.max(0, maxPositions - cache.length())));
        final Embedding e = engine.causal(id, cache, chunk.getChunkIndex(), tokens, chunk.getLast(),
                record.timestamp());
        if (chunk.getLast()) {
            store.delete(id);
        } else {
            store.put(id, cache);
        }
        telemetry.embedding(e);
        context().forward(new Record<>(id, e, record.timestamp()));
    }
}
