package dev.seqembed.processor;

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

import dev.seqembed.avro.TokenChunk;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.engine.Vectors;
import dev.seqembed.engine.WindowSlicer;
import dev.seqembed.state.WindowBuffer;

/**
 * Cuts each sequence into the dense model's fixed windows as its chunks arrive; windows span chunk
 * boundaries. The tokens of a window not yet complete wait in a changelogged store.
 */
public final class WindowAssembler extends ContextualProcessor<String, SequenceEvent, String, WindowRecord> {

    public static final String STORE = "window-buffer";

    private final WindowSlicer slicer;
    private KeyValueStore<String, WindowBuffer> store;

    WindowAssembler(final WindowSlicer slicer) {
        this.slicer = slicer;
    }

    /** The supplier, declaring this processor's store. */
    public static ProcessorSupplier<String, SequenceEvent, String, WindowRecord> supplier(final WindowSlicer slicer) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, SequenceEvent, String, WindowRecord> get() {
                return new WindowAssembler(slicer);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                // Cached: written to RocksDB and the changelog when the task commits, once per sequence changed
                // since the last commit, not once per chunk.
                return Set.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                        Serdes.String(), WindowBuffer.SERDE).withCachingEnabled());
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, WindowRecord> context) {
        super.init(context);
        store = context.getStateStore(STORE);
    }

    @Override
    public void process(final Record<String, SequenceEvent> record) {
        final SequenceEvent event = record.value();
        switch (event.kind()) {
            case ABORT:
                // put(null), not delete: a delete reads the old value, which may be the corrupt entry.
                store.put(event.sequenceId(), null);
                store.put(ClosedSequences.markerKey(event.sequenceId()), null);
                return;
            case CHUNK:
                applyOrClose(record, event.chunk());
                return;
            default:
                // Dead letters are the DLQ writer's business.
        }
    }

    private void applyOrClose(final Record<String, SequenceEvent> record, final TokenChunk chunk) {
        final String id = chunk.getSequenceId();
        if (ClosedSequences.isClosed(store, id)) {
            throw ClosedSequences.rejectLater(store, id, chunk.getLast());
        }
        try {
            apply(record, chunk);
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            // A corrupt buffer: free it and close the sequence's dense path; its next windows would be misplaced.
            ClosedSequences.close(store, id, WindowBuffer.EMPTY, chunk.getLast());
            throw ProcessingFailure.ofChunk(chunk, "windower", e);
        }
    }

    private void apply(final Record<String, SequenceEvent> record, final TokenChunk chunk) {
        final String id = chunk.getSequenceId();
        final WindowBuffer state = store.get(id);
        final WindowSlicer.Result result = slicer.append(state == null ? WindowBuffer.EMPTY : state,
                Vectors.toIntArray(chunk.getTokens()), chunk.getLast());
        if (result.state() == null) {
            store.delete(id);
        } else {
            store.put(id, result.state());
        }
        for (final WindowSlicer.Slice s : result.windows()) {
            context().forward(new Record<>(id, s.toRecord(id, record.timestamp()), record.timestamp()));
        }
    }
}
