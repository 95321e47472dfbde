package dev.seqembed.processor;

import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.Punctuator;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.state.BufferedWindow;
import dev.seqembed.testing.TestModels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The dense micro-batcher alone, on a MockProcessorContext with a real in-memory store and a small real model. */
class DenseBatcherTest {

    private static final long MAX_WAIT_MS = 20;

    @TempDir
    static Path modelDir;

    private static DenseWindowModel model;

    private final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry());
    private KeyValueStore<byte[], byte[]> store;
    private MockProcessorContext<String, Embedding> context;
    private DenseBatcher batcher;

    @BeforeAll
    static void loadModel() throws Exception {
        model = TestModels.write(modelDir).dense();
    }

    @BeforeEach
    void createStore() {
        store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(DenseBatcher.STORE), Serdes.ByteArray(),
                Serdes.ByteArray()).withLoggingDisabled().build();
        final MockProcessorContext<String, Embedding> first = new MockProcessorContext<>(
                ChunkValidatorTest.mockProperties());
        store.init(first.getStateStoreContext(), store);
    }

    /** A new processor (and context) on the existing store: a fresh start, or a restart after a crash. */
    private void startProcessor(final int maxWindows, final long nowMs) {
        context = new MockProcessorContext<>(ChunkValidatorTest.mockProperties());
        context.setCurrentSystemTimeMs(nowMs);
        context.addStateStore(store);
        batcher = new DenseBatcher(() -> model, maxWindows, MAX_WAIT_MS, telemetry);
        batcher.init(context);
    }

    private Punctuator punctuator() {
        assertThat(context.scheduledPunctuators()).hasSize(1);
        final MockProcessorContext.CapturedPunctuator p = context.scheduledPunctuators().get(0);
        assertThat(p.getType()).isEqualTo(PunctuationType.WALL_CLOCK_TIME);
        return p.getPunctuator();
    }

    /** Window k of sequence {@code id}: W=4 tokens from offset 2k, fully valid except where given. */
    private static WindowRecord window(final String id, final int k, final int valid) {
        final int[] t = Arrays.copyOf(tokens(valid, 3 * k), TestModels.DENSE.window());
        return WindowRecord.newBuilder().setSequenceId(id).setWindowIndex(k).setStart(k * TestModels.DENSE.stride())
                .setTokens(Arrays.stream(t).boxed().toList()).setValid(valid).setFinal$(false)
                .setIngestTimeMs(900).build();
    }

    private void process(final WindowRecord w, final long timestamp) {
        batcher.process(new Record<>(w.getSequenceId(), w, timestamp));
    }

    private List<Record<? extends String, ? extends Embedding>> forwarded() {
        final List<Record<? extends String, ? extends Embedding>> out = new ArrayList<>();
        context.forwarded().forEach(f -> out.add(f.record()));
        return out;
    }

    private static byte[] slot(final long n) {
        return ByteBuffer.allocate(Long.BYTES).putLong(n).array();
    }

    /** What the store holds for a buffered window. */
    private static byte[] buffered(final WindowRecord w, final long timestamp) {
        return BufferedWindow.SERDE.serializer().serialize(DenseBatcher.STORE, new BufferedWindow(w, timestamp));
    }

    private List<Long> storeKeys() {
        final List<Long> keys = new ArrayList<>();
        try (KeyValueIterator<byte[], byte[]> it = store.all()) {
            while (it.hasNext()) {
                final KeyValue<byte[], byte[]> kv = it.next();
                keys.add(ByteBuffer.wrap(kv.key).getLong());
            }
        }
        return keys;
    }

    /** What was forwarded is one flushed batch of these windows, in order, each its own embedding; the store empty. */
    private void assertFlushed(final BufferedWindow... windows) {
        final List<Record<? extends String, ? extends Embedding>> out = forwarded();
        assertThat(out).hasSize(windows.length);
        for (int i = 0; i < windows.length; i++) {
            assertEmbeds(out.get(i), windows[i].window(), windows[i].timestampMs(), windows.length);
        }
        assertThat(storeKeys()).isEmpty();
    }

    /** The output for window {@code w} is its own embedding, computed directly by the model. */
    private static void assertEmbeds(final Record<? extends String, ? extends Embedding> r, final WindowRecord w,
                                     final long timestamp, final int batchSize) {
        final Embedding e = r.value();
        assertThat(r.key()).isEqualTo(w.getSequenceId());
        assertThat(r.timestamp()).as("output keeps the input record's timestamp").isEqualTo(timestamp);
        assertThat(e.getPath()).isEqualTo(EmbeddingPath.DENSE);
        assertThat(e.getSequenceId()).isEqualTo(w.getSequenceId());
        assertThat(e.getIndex()).isEqualTo(w.getWindowIndex());
        assertThat(e.getStart()).isEqualTo(w.getStart());
        assertThat(e.getLength()).isEqualTo(w.getValid());
        assertThat(e.getMetrics().getBatchSize()).isEqualTo(batchSize);
        assertThat(e.getMetrics().getFlops()).isEqualTo(TestModels.DENSE.flopsPerWindow());
        final float[] want = model.embedWindow(Vectors.toIntArray(w.getTokens()), w.getValid());
        final float[] got = Vectors.toArray(e.getVector());
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("component %d of window %d", i, w.getWindowIndex())
                    .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    @Test
    void windowsWaitUntilMaxWindowsThenGoOutAsOneBatch() {
        startProcessor(3, 1_000);
        final WindowRecord w0 = window("a", 0, 4);
        final WindowRecord w1 = window("b", 0, 2);
        final WindowRecord w2 = window("a", 1, 4);
        process(w0, 10);
        process(w1, 11);
        assertThat(context.forwarded()).isEmpty();
        assertThat(storeKeys()).containsExactly(0L, 1L);
        process(w2, 12);
        final List<Record<? extends String, ? extends Embedding>> out = forwarded();
        assertThat(out).hasSize(3);
        assertEmbeds(out.get(0), w0, 10, 3);
        assertEmbeds(out.get(1), w1, 11, 3);
        assertEmbeds(out.get(2), w2, 12, 3);
        assertThat(out.get(0).value().getMetrics().getBatchTokens()).isEqualTo(10);
        assertThat(out.get(0).value().getMetrics().getPaddedTokens()).isEqualTo(2);
        assertThat(storeKeys()).as("a flushed batch leaves the store").isEmpty();

        context.resetForwards();
        process(window("a", 2, 4), 13);
        assertThat(context.forwarded()).isEmpty();
        assertThat(storeKeys()).as("the next batch starts again at slot 0").containsExactly(0L);
    }

    @Test
    void thePunctuatorFlushesAPartialBatchOnlyAfterMaxWait() {
        startProcessor(10, 1_000);
        final Punctuator p = punctuator();
        p.punctuate(5_000);
        assertThat(context.forwarded()).as("nothing buffered, nothing sent").isEmpty();

        context.setCurrentSystemTimeMs(6_000);
        final WindowRecord w0 = window("a", 0, 4);
        final WindowRecord w1 = window("a", 1, 3);
        process(w0, 1);
        context.setCurrentSystemTimeMs(6_015);
        process(w1, 2);
        p.punctuate(6_000 + MAX_WAIT_MS - 1);
        assertThat(context.forwarded()).as("the oldest window has not waited max-wait yet").isEmpty();

        p.punctuate(6_000 + MAX_WAIT_MS);
        assertFlushed(new BufferedWindow(w0, 1), new BufferedWindow(w1, 2));

        context.resetForwards();
        p.punctuate(10_000);
        assertThat(context.forwarded()).as("a flushed batch is not sent twice").isEmpty();
    }

    @Test
    void afterARestartTheBufferedWindowsAreFlushedAndNumberingContinues() {
        startProcessor(4, 1_000);
        final WindowRecord w0 = window("a", 0, 4);
        final WindowRecord w1 = window("a", 1, 4);
        process(w0, 100);
        process(w1, 101);
        assertThat(context.forwarded()).isEmpty();

        // Crash: the processor is gone, the (restored) store still holds the two windows.
        startProcessor(4, 50_000);
        final WindowRecord w2 = window("a", 2, 4);
        process(w2, 102);
        assertThat(context.forwarded()).isEmpty();
        assertThat(storeKeys()).as("a new window must not overwrite a restored one").containsExactly(0L, 1L, 2L);

        final WindowRecord w3 = window("a", 3, 1);
        process(w3, 103);
        assertFlushed(new BufferedWindow(w0, 100), new BufferedWindow(w1, 101), new BufferedWindow(w2, 102),
                new BufferedWindow(w3, 103));
    }

    @Test
    void afterARestartThePunctuatorFlushesTheRestoredBatchWithoutNewInput() {
        startProcessor(8, 1_000);
        final WindowRecord w0 = window("a", 0, 4);
        final WindowRecord w1 = window("b", 0, 4);
        process(w0, 100);
        process(w1, 101);

        startProcessor(8, 50_000);
        final Punctuator p = punctuator();
        p.punctuate(50_000 + MAX_WAIT_MS - 1);
        assertThat(context.forwarded()).isEmpty();
        p.punctuate(50_000 + MAX_WAIT_MS);
        assertFlushed(new BufferedWindow(w0, 100), new BufferedWindow(w1, 101));

        context.resetForwards();
        process(window("a", 1, 4), 102);
        assertThat(storeKeys()).as("the next batch starts again at slot 0").containsExactly(0L);
    }

    @Test
    void windowsStoredUnderAnEarlierReleasesKeysMoveToSlotsInArrivalOrder() {
        // Before slots, keys counted every window ever buffered: a restored batch may sit at 7 and 9.
        final WindowRecord w0 = window("a", 0, 4);
        final WindowRecord w1 = window("b", 0, 3);
        store.put(slot(7), buffered(w0, 100));
        store.put(slot(9), buffered(w1, 101));
        startProcessor(3, 1_000);
        assertThat(storeKeys()).containsExactly(0L, 1L);
        final WindowRecord w2 = window("a", 1, 4);
        process(w2, 102);
        assertFlushed(new BufferedWindow(w0, 100), new BufferedWindow(w1, 101), new BufferedWindow(w2, 102));
    }

    @Test
    void unreadableRestoredWindowsAreDeadLetteredOnTheNextRecordAndTheOthersKeepTheirPlace() {
        final WindowRecord w0 = window("a", 0, 4);
        final byte[] garbage = {7, 1, 2};
        store.put(slot(0), garbage);
        store.put(slot(1), buffered(w0, 100));
        store.put(slot(2), garbage);
        startProcessor(3, 1_000);
        assertThat(context.forwarded()).as("nothing is forwarded from init").isEmpty();
        final WindowRecord w1 = window("a", 1, 4);
        process(w1, 101);

        // The readable window moved into slot 0 at init; slot 2 was freed with its dead letter; w1 went to slot 1.
        assertThat(storeKeys()).containsExactly(0L, 1L);
        assertThat(BufferedWindow.SERDE.deserializer().deserialize("t", store.get(slot(0))))
                .isEqualTo(new BufferedWindow(w0, 100));
        final List<DeadLetter> dead = context.forwarded().stream()
                .filter(f -> DenseBatcher.DEAD_LETTERS.equals(f.childName().orElse(null)))
                .map(f -> ((SequenceEvent) (Object) f.record().value()).deadLetter()).toList();
        assertThat(dead).extracting(DeadLetter::key).containsExactly(slot(0), slot(2));
        assertThat(dead).allSatisfy(dl -> {
            assertThat(dl.value()).isEqualTo(garbage);
            assertThat(dl.reason()).isEqualTo(dev.seqembed.engine.ErrorCode.PROCESSING_ERROR);
            assertThat(dl.message()).startsWith("unreadable entry in store 'dense-batch' key 00000000000000")
                    .contains("format 7");
        });

        context.resetForwards();
        final WindowRecord w2 = window("b", 0, 2);
        process(w2, 102);
        assertFlushed(new BufferedWindow(w0, 100), new BufferedWindow(w1, 101), new BufferedWindow(w2, 102));
    }
}
