package dev.seqembed.processor;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.engine.DenseEngine;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.state.BufferedWindow;

/**
 * Gathers windows into micro-batches and embeds each batch with one model call. Buffered windows live in a
 * changelogged store: Kafka Streams has no pre-commit hook, so only the store's transactional changelog makes
 * a crash neither lose nor repeat them. A batch flushes when it reaches {@code dense.batch.max-windows} or
 * when its oldest window has waited {@code dense.batch.max-wait-ms} (wall-clock punctuator).
 */
public final class DenseBatcher extends ContextualProcessor<String, WindowRecord, String, Embedding> {

    public static final String STORE = "dense-batch";

    /** The current model: the next batch uses it (SPEC §10.5; windows carry no state of their model). */
    private final Supplier<DenseWindowModel> model;
    private final int maxWindows;
    private final long maxWaitMs;
    private final Telemetry telemetry;
    private DenseEngine engine;
    private KeyValueStore<byte[], BufferedWindow> store;
    private long nextSequence;
    /** Key of the oldest buffered window: flushes seek here, past the tombstones of earlier batches. */
    private long firstSequence;
    private int buffered;
    private long oldestBufferedAtMs;

    DenseBatcher(final Supplier<DenseWindowModel> model, final int maxWindows, final long maxWaitMs,
                 final Telemetry telemetry) {
        this.model = model;
        this.maxWindows = maxWindows;
        this.maxWaitMs = maxWaitMs;
        this.telemetry = telemetry;
    }

    /** The supplier, declaring this processor's store; each batch uses the model {@code model} gives then. */
    public static ProcessorSupplier<String, WindowRecord, String, Embedding> supplier(
            final Supplier<DenseWindowModel> model, final int maxWindows, final long maxWaitMs,
            final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, WindowRecord, String, Embedding> get() {
                return new DenseBatcher(model, maxWindows, maxWaitMs, telemetry);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                return Set.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                        Serdes.ByteArray(), BufferedWindow.SERDE));
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, Embedding> context) {
        super.init(context);
        store = context.getStateStore(STORE);
        engine = new DenseEngine(model.get(), context::currentSystemTimeMs);
        // After a restart the store may hold a batch: continue its numbering and flush it soon.
        try (KeyValueIterator<byte[], BufferedWindow> it = store.all()) {
            while (it.hasNext()) {
                final long key = ByteBuffer.wrap(it.next().key).getLong();
                firstSequence = buffered == 0 ? key : Math.min(firstSequence, key);
                nextSequence = Math.max(nextSequence, key + 1);
                buffered++;
            }
        }
        if (buffered == 0) {
            firstSequence = nextSequence;
        }
        oldestBufferedAtMs = context.currentSystemTimeMs();
        context.schedule(Duration.ofMillis(Math.max(1, maxWaitMs)), PunctuationType.WALL_CLOCK_TIME, now -> {
            if (buffered > 0 && now - oldestBufferedAtMs >= maxWaitMs) {
                flush();
            }
        });
    }

    @Override
    public void process(final Record<String, WindowRecord> record) {
        if (buffered == 0) {
            oldestBufferedAtMs = context().currentSystemTimeMs();
        }
        store.put(key(nextSequence++), new BufferedWindow(record.value(), record.timestamp()));
        buffered++;
        if (buffered >= maxWindows) {
            flush();
        }
    }

    private void flush() {
        final List<KeyValue<byte[], BufferedWindow>> batch = new ArrayList<>(buffered);
        // A range from the oldest live key, not all(): a RocksDB scan from the start would step over the
        // tombstones of every earlier batch, making each flush slower than the last.
        try (KeyValueIterator<byte[], BufferedWindow> it = store.range(key(firstSequence), key(nextSequence - 1))) {
            while (it.hasNext()) {
                batch.add(it.next());
            }
        }
        final List<DenseEngine.Pending> pending = new ArrayList<>(batch.size());
        for (final KeyValue<byte[], BufferedWindow> kv : batch) {
            pending.add(new DenseEngine.Pending(kv.value.window(), kv.value.timestampMs()));
        }
        if (engine.model() != model.get()) {
            engine = new DenseEngine(model.get(), context()::currentSystemTimeMs);
        }
        final List<Embedding> embeddings = engine.embed(pending);
        for (int i = 0; i < batch.size(); i++) {
            final Embedding e = embeddings.get(i);
            telemetry.embedding(e);
            context().forward(new Record<>(e.getSequenceId(), e, batch.get(i).value.timestampMs()));
            store.delete(batch.get(i).key);
        }
        buffered = 0;
        firstSequence = nextSequence;
    }

    /** Big-endian, so the store's byte order is arrival order. */
    private static byte[] key(final long sequence) {
        return ByteBuffer.allocate(Long.BYTES).putLong(sequence).array();
    }
}
