package dev.seqembed.processor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.KvCache;

/**
 * Attention in {@code causal} mode: each chunk is computed when it arrives, against its sequence's per-layer
 * K/V cache kept in a changelogged store, so a chunk costs O(chunk × prefix) instead of a full recompute.
 * One Embedding per chunk; the {@code last} chunk frees the cache.
 *
 * <p>The cache is stored in blocks of a fixed number of tokens plus a small header (length and pooling
 * state): a chunk rewrites only the header, the last partial block and its own new blocks, so the changelog
 * grows linearly with the sequence, and no record approaches the producer's size limit however long the
 * sequence is.
 */
public final class AttentionCausal extends ContextualProcessor<String, TokenChunk, String, Embedding> {

    public static final String STORE = "attention-kv-cache";

    private static final String SEP = "\u0000";
    private static final StringSerializer KEYS = new StringSerializer();

    private final AttentionEngine.Factory engines;
    private final int maxPositions;
    private final int blockTokens;
    private final Telemetry telemetry;
    private AttentionEngine engine;
    private KeyValueStore<String, byte[]> store;

    AttentionCausal(final AttentionEngine.Factory engines, final int maxPositions, final int blockTokens,
                    final Telemetry telemetry) {
        this.engines = engines;
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
            final AttentionEngine.Factory engines, final int maxPositions, final int blockTokens,
            final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, TokenChunk, String, Embedding> get() {
                return new AttentionCausal(engines, maxPositions, blockTokens, telemetry);
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
    }

    @Override
    public void process(final Record<String, TokenChunk> record) {
        if (record.value() == null) {
            delete(record.key());
        } else {
            apply(record, record.value());
        }
    }

    private void apply(final Record<String, TokenChunk> record, final TokenChunk chunk) {
        final String id = chunk.getSequenceId();
        final KvCache held = load(store, id);
        final KvCache cache = held == null ? engine.model().newCache() : held;
        final int before = cache.length();
        final int[] added = Vectors.toIntArray(chunk.getTokens());
        // Truncation (attention.overflow=truncate): positions past the model's last one are dropped.
        final int[] tokens = Arrays.copyOf(added, Math.min(added.length, Math.max(0, maxPositions - before)));
        final Embedding e = engine.causal(id, cache, chunk.getChunkIndex(), tokens, chunk.getLast(),
                record.timestamp());
        if (chunk.getLast()) {
            delete(id);
        } else {
            save(id, cache, before);
        }
        telemetry.embedding(e);
        context().forward(new Record<>(id, e, record.timestamp()));
    }

    /** Writes the header and the blocks that changed since {@code before} tokens. */
    private void save(final String id, final KvCache cache, final int before) {
        for (int from = before / blockTokens * blockTokens; from < cache.length(); from += blockTokens) {
            store.put(blockKey(id, from), cache.blockBytes(from, Math.min(cache.length(), from + blockTokens)));
        }
        store.put(headerKey(id), cache.headerBytes());
    }

    private void delete(final String id) {
        final List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(id + SEP, KEYS)) {
            it.forEachRemaining(kv -> keys.add(kv.key));
        }
        keys.forEach(store::delete);
    }

    /** The sequence's cache from a store, or null when it holds none. */
    public static KvCache load(final ReadOnlyKeyValueStore<String, byte[]> store, final String id) {
        final byte[] header = store.get(headerKey(id));
        if (header == null) {
            return null;
        }
        final List<byte[]> blocks = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(id + SEP + "b", KEYS)) {
            while (it.hasNext()) {
                final KeyValue<String, byte[]> kv = it.next();
                blocks.add(kv.value);
            }
        }
        return KvCache.fromParts(header, blocks);
    }

    /** Bytes the sequence occupies in a store (header and blocks). */
    public static long storedBytes(final ReadOnlyKeyValueStore<String, byte[]> store, final String id) {
        long bytes = 0;
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(id + SEP, KEYS)) {
            while (it.hasNext()) {
                final KeyValue<String, byte[]> kv = it.next();
                bytes += kv.key.length() + kv.value.length;
            }
        }
        return bytes;
    }

    /** Tokens per stored block so that one block holds about {@code targetBytes} of keys and values. */
    public static int blockTokens(final int layers, final int hidden, final long targetBytes) {
        return (int) Math.max(1, Math.min(1 << 20, targetBytes / (2L * layers * hidden * Float.BYTES)));
    }

    private static String headerKey(final String id) {
        return id + SEP + "h";
    }

    private static String blockKey(final String id, final int from) {
        // Zero-padded so that the store's byte order is the token order.
        return id + SEP + "b" + String.format("%010d", from);
    }
}
