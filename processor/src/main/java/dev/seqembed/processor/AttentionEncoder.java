package dev.seqembed.processor;

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
import dev.seqembed.state.TokenBuffer;

/**
 * Attention in {@code encoder} mode: buffers a sequence's chunks in a changelogged store until its
 * {@code last} chunk, then runs one bidirectional forward over the whole sequence.
 */
public final class AttentionEncoder extends ContextualProcessor<String, TokenChunk, String, Embedding> {

    public static final String STORE = "attention-buffer";

    private final AttentionEngine.Factory engines;
    private final int maxPositions;
    private final Telemetry telemetry;
    private AttentionEngine engine;
    private KeyValueStore<String, TokenBuffer> store;

    AttentionEncoder(final AttentionEngine.Factory engines, final int maxPositions, final Telemetry telemetry) {
        this.engines = engines;
        this.maxPositions = maxPositions;
        this.telemetry = telemetry;
    }

    /**
     * The supplier, declaring this processor's store.
     *
     * @param maxPositions tokens beyond this are dropped (truncation; the validator rejects instead when asked to)
     */
    public static ProcessorSupplier<String, TokenChunk, String, Embedding> supplier(
            final AttentionEngine.Factory engines, final int maxPositions, final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, TokenChunk, String, Embedding> get() {
                return new AttentionEncoder(engines, maxPositions, telemetry);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                return Set.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                        Serdes.String(), TokenBuffer.SERDE));
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
            store.delete(record.key());
        } else {
            apply(record, record.value());
        }
    }

    private void apply(final Record<String, TokenChunk> record, final TokenChunk chunk) {
        final String id = chunk.getSequenceId();
        final TokenBuffer held = store.get(id);
        final int[] before = held == null ? new int[0] : held.tokens();
        final int[] added = Vectors.toIntArray(chunk.getTokens());
        final int keep = Math.min(added.length, Math.max(0, maxPositions - before.length));
        final int[] tokens = Arrays.copyOf(before, before.length + keep);
        System.arraycopy(added, 0, tokens, before.length, keep);
        if (!chunk.getLast()) {
            store.put(id, new TokenBuffer(tokens));
            return;
        }
        store.delete(id);
        final Embedding e = engine.encode(id, tokens, record.timestamp(), TokenBuffer.sizeBytes(tokens.length));
        telemetry.embedding(e);
        context().forward(new Record<>(id, e, record.timestamp()));
    }
}
