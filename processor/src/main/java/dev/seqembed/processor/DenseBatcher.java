package dev.seqembed.processor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.StoreBuilder;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.engine.DenseEngine;
import dev.seqembed.engine.ErrorCode;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.state.BufferedWindow;
import dev.seqembed.state.StateEntries;

/**
 * Gathers windows into micro-batches and embeds each batch with one model call. Buffered windows live in a
 * changelogged store: Kafka Streams has no pre-commit hook, so only the store's transactional changelog makes
 * a crash neither lose nor repeat them. A batch flushes when it reaches {@code dense.batch.max-windows} or
 * when its oldest window has waited {@code dense.batch.max-wait-ms} (wall-clock punctuator).
 *
 * <p>The store is keyed by the window's slot in the current batch (0 … max-windows − 1), and record caching is on:
 * Kafka Streams writes a cached store to its changelog only when it commits (the cache flush is the pre-commit
 * hook a processor lacks), and then only each slot's last state. Batches that fill and flush between two commits
 * thus cost at most one changelog record per slot per commit, instead of a put and a tombstone per window. The
 * batch itself is also kept on the heap: a flush reads nothing back from the store, which is only read at
 * {@link #init} (a new task, a restart, a restored state). A window that cannot be decoded there is dead-lettered
 * ({@link UnreadableEntries}); the batch goes on without it.
 *
 * <p>Embeddings go to the child {@link #EMBEDDINGS}, dead letters to {@link #DEAD_LETTERS}.
 */
public final class DenseBatcher extends ContextualProcessor<String, WindowRecord, String, Embedding> {

    public static final String STORE = "dense-batch";
    /** The child that receives the Embeddings. */
    public static final String EMBEDDINGS = "dense-out";
    /** The child that receives dead letters ({@link DeadLetterWriter}). */
    public static final String DEAD_LETTERS = "dead-letters";

    private static final Serializer<WindowRecord> WINDOWS = RecordSerdes.windowRecord().serializer();

    /** The current model: the next batch uses it (SPEC §10.5; windows carry no state of their model). */
    private final Supplier<DenseWindowModel> model;
    private final int maxWindows;
    private final long maxWaitMs;
    private final Telemetry telemetry;
    private final List<BufferedWindow> batch = new ArrayList<>();
    private DenseEngine engine;
    private StateEntries<byte[], BufferedWindow> store;
    private UnreadableEntries unreadable;
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
                return Set.of(StateEntries.persistent(STORE, Serdes.ByteArray()).withCachingEnabled());
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, Embedding> context) {
        super.init(context);
        store = new StateEntries<>(context.getStateStore(STORE), BufferedWindow.SERDE);
        engine = new DenseEngine(model.get(), context::currentSystemTimeMs);
        // Kafka Streams may init the same processor again (a revived task): start from the store alone.
        batch.clear();
        unreadable = new UnreadableEntries();
        // Keys are big-endian, so the store's order is arrival order. Stored by an earlier release (keys counting
        // windows ever buffered), by a larger max-windows or around an unreadable window: move them to slots
        // 0 … n-1. An unreadable window's slot is freed when it is dead-lettered, unless a window moved into it.
        final List<byte[]> keys = new ArrayList<>();
        unreadable.read(store, (key, window) -> {
            keys.add(key);
            batch.add(window);
        }, key -> {
            if (ByteBuffer.wrap(key).getLong() >= batch.size()) {
                store.remove(key);
            }
        });
        for (int i = 0; i < batch.size(); i++) {
            if (ByteBuffer.wrap(keys.get(i)).getLong() != i) {
                store.remove(keys.get(i));
                store.put(slot(i), batch.get(i));
            }
        }
        oldestBufferedAtMs = context.currentSystemTimeMs();
        context.schedule(Duration.ofMillis(Math.max(1, maxWaitMs)), PunctuationType.WALL_CLOCK_TIME, now -> {
            unreadable.settle(context, DEAD_LETTERS, now);
            if (!batch.isEmpty() && now - oldestBufferedAtMs >= maxWaitMs) {
                flush();
            }
        });
    }

    @Override
    public void process(final Record<String, WindowRecord> record) {
        unreadable.settle(context(), DEAD_LETTERS, record.timestamp());
        if (batch.isEmpty()) {
            oldestBufferedAtMs = context().currentSystemTimeMs();
        }
        final BufferedWindow window = new BufferedWindow(record.value(), record.timestamp());
        store.put(slot(batch.size()), window);
        batch.add(window);
        if (batch.size() >= maxWindows) {
            flush();
        }
    }

    private void flush() {
        final List<Embedding> embeddings;
        try {
            final List<DenseEngine.Pending> pending = new ArrayList<>(batch.size());
            for (final BufferedWindow w : batch) {
                pending.add(new DenseEngine.Pending(w.window(), w.timestampMs()));
            }
            if (engine.model() != model.get()) {
                engine = new DenseEngine(model.get(), context()::currentSystemTimeMs);
            }
            embeddings = engine.embed(pending);
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            throw dropBatch(e);
        }
        for (int i = 0; i < batch.size(); i++) {
            final Embedding e = embeddings.get(i);
            telemetry.embedding(e);
            context().forward(new Record<>(e.getSequenceId(), e, batch.get(i).timestampMs()), EMBEDDINGS);
            store.remove(slot(i));
        }
        batch.clear();
    }

    /**
     * A batch that cannot be embedded (a model error): every slot is freed and each of its windows goes to the
     * dead-letter topic.
     */
    private ProcessingFailure dropBatch(final RuntimeException e) {
        final String message = "dense batch of " + batch.size() + " window(s): " + ProcessingFailure.describe(e);
        final List<DeadLetter> letters = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            store.remove(slot(i));
            final WindowRecord w = batch.get(i).window();
            letters.add(new DeadLetter(w.getSequenceId().getBytes(StandardCharsets.UTF_8),
                    WINDOWS.serialize(null, w), ErrorCode.PROCESSING_ERROR,
                    "sequence '" + w.getSequenceId() + "' window " + w.getWindowIndex() + ": " + message,
                    null, -1, -1));
        }
        batch.clear();
        return new ProcessingFailure(message, e, letters);
    }

    /** Big-endian, so the store's byte order is slot (arrival) order. */
    private static byte[] slot(final long slot) {
        return ByteBuffer.allocate(Long.BYTES).putLong(slot).array();
    }
}
