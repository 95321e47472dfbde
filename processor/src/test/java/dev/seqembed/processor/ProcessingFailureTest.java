package dev.seqembed.processor;

import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.engine.ErrorCode;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Vectors;
import dev.seqembed.engine.WindowSlicer;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.state.KvCacheStore;
import dev.seqembed.state.TokenBuffer;
import dev.seqembed.state.WindowBuffer;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Records that fail after validation (SPEC §10.6), processor by processor on a MockProcessorContext: a corrupt state
 * entry or a model error frees the sequence's state, closes the sequence (its later chunks fail too, until its last)
 * and leaves every other sequence as it was.
 */
class ProcessingFailureTest {

    @TempDir
    static Path modelDir;

    private static Models models;

    private final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry());
    /** Armed: the engine's next computation fails, as a model error would. */
    private final AtomicBoolean modelFails = new AtomicBoolean();

    @BeforeAll
    static void loadModels() throws Exception {
        models = TestModels.write(modelDir);
    }

    private AttentionEngine.Factory engines() {
        return clock -> new AttentionEngine(models.attention(), Pooling.MEAN, true, () -> {
            if (modelFails.getAndSet(false)) {
                throw new IllegalStateException("injected model failure");
            }
            return clock.millis();
        });
    }

    private static Record<String, TokenChunk> rec(final TokenChunk c) {
        return new Record<>(c.getSequenceId(), c, 1000L);
    }

    private static List<String> keysOf(final KeyValueStore<String, ?> store, final String id) {
        final List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, ?> it = store.all()) {
            it.forEachRemaining(kv -> {
                if (kv.key.startsWith(id)) {
                    keys.add(kv.key);
                }
            });
        }
        return keys;
    }

    /** A causal processor (64 positions, blocks of 4 tokens) on an in-memory store, with its context. */
    private record Causal(MockProcessorContext<String, Embedding> ctx, KeyValueStore<String, byte[]> store,
                          AttentionCausal p) {
    }

    private Causal causal() {
        final MockProcessorContext<String, Embedding> ctx = new MockProcessorContext<>(ChunkValidatorTest.mockProperties());
        ctx.setCurrentSystemTimeMs(1000);
        final KeyValueStore<String, byte[]> store = MockStores.bytes(ctx, AttentionCausal.STORE, Serdes.String());
        MockStores.bytes(ctx, AttentionCausal.PENDING_STORE, Serdes.ByteArray());
        // Each chunk computed on arrival (no micro-batch): a failure reaches the caller, as the handler sees it.
        final AttentionCausal p = new AttentionCausal(engines(), models.live(), 64, 4,
                new AttentionBatching(1, 0), telemetry);
        p.init(ctx);
        return new Causal(ctx, store, p);
    }

    @Test
    void causalCorruptHeaderClosesOnlyThatSequence() {
        final Causal c = causal();
        final KeyValueStore<String, byte[]> store = c.store();
        final AttentionCausal p = c.p();
        final int[] good = tokens(15, 3);
        p.process(rec(chunk("p", 0, tokens(5, 1), false)));
        p.process(rec(chunk("g", 0, Arrays.copyOfRange(good, 0, 5), false)));
        // Corrupt p's cache header as a bad changelog entry would restore it: right size, wrong version.
        final byte[] header = store.get("p\u0000h").clone();
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 99);
        store.put("p\u0000h", header);

        assertThatThrownBy(() -> p.process(rec(chunk("p", 1, tokens(5, 2), false))))
                .isInstanceOf(ProcessingFailure.class)
                .hasMessageContaining("sequence 'p' chunk 1")
                .hasMessageContaining("not a KV cache header of version");
        // Its cache is gone; only the closed marker is left.
        assertThat(keysOf(store, "p")).singleElement();
        assertThat(KvCacheStore.failed(store, "p")).isTrue();
        // A later chunk is not applied to a fresh cache (it would restart at position 0): it fails too.
        assertThatThrownBy(() -> p.process(rec(chunk("p", 2, tokens(5, 4), false))))
                .isInstanceOf(ProcessingFailure.class).hasMessageContaining("closed by an earlier processing error");
        assertThatThrownBy(() -> p.process(rec(chunk("p", 3, tokens(2, 4), true))))
                .isInstanceOf(ProcessingFailure.class);
        assertThat(keysOf(store, "p")).isEmpty();

        // g goes on and ends as a whole causal forward over its tokens.
        p.process(rec(chunk("g", 1, Arrays.copyOfRange(good, 5, 15), true)));
        final List<Embedding> out = c.ctx().forwarded().stream().map(f -> (Embedding) f.record().value())
                .filter(e -> e.getSequenceId().equals("g")).toList();
        assertThat(out).hasSize(2);
        final KvCache fresh = models.attention().newCache();
        final float[] whole = models.attention().appendCausal(fresh, good, Pooling.MEAN, true);
        assertThat(Vectors.toArray(out.get(1).getVector())).containsExactly(whole,
                org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(keysOf(store, "g")).isEmpty();
    }

    @Test
    void causalModelErrorFreesTheCache() {
        final Causal c = causal();
        final KeyValueStore<String, byte[]> store = c.store();
        final AttentionCausal p = c.p();
        p.process(rec(chunk("m", 0, tokens(6, 1), false)));
        modelFails.set(true);
        assertThatThrownBy(() -> p.process(rec(chunk("m", 1, tokens(3, 2), false))))
                .isInstanceOf(ProcessingFailure.class).hasMessageContaining("injected model failure");
        assertThat(keysOf(store, "m")).singleElement();
        assertThat(KvCacheStore.failed(store, "m")).isTrue();
        // The validator aborts the sequence when it idles out: the marker goes too.
        p.process(new Record<>("m", null, 2000L));
        assertThat(keysOf(store, "m")).isEmpty();
    }

    @Test
    void encoderCorruptBufferAndModelError() throws Exception {
        final MockProcessorContext<String, Embedding> ctx = new MockProcessorContext<>(ChunkValidatorTest.mockProperties());
        ctx.setCurrentSystemTimeMs(1000);
        final KeyValueStore<String, byte[]> store = MockStores.bytes(ctx, AttentionEncoder.STORE, Serdes.String());
        final KeyValueStore<byte[], byte[]> ready = MockStores.bytes(ctx, AttentionEncoder.READY_STORE,
                Serdes.ByteArray());
        // Batches of two sequences: the second completed sequence flushes both.
        final AttentionEncoder p = new AttentionEncoder(engines(), models.live(), 64, 0,
                new AttentionBatching(8, 60_000), telemetry);
        p.init(ctx);
        p.process(rec(chunk("c", 0, tokens(4, 1), false)));
        store.put("c", new byte[] {7, 1, 2});
        assertThatThrownBy(() -> p.process(rec(chunk("c", 1, tokens(4, 2), false))))
                .isInstanceOf(ProcessingFailure.class).hasMessageContaining("format 7");
        assertThat(store.get("c")).isNull();
        assertThatThrownBy(() -> p.process(rec(chunk("c", 2, tokens(1, 2), true))))
                .isInstanceOf(ProcessingFailure.class).hasMessageContaining("closed");
        assertThat(keysOf(store, "c")).isEmpty();

        // A model error in a micro-batch: every sequence in it is dead-lettered whole, nothing is left behind.
        final int[] e = tokens(6, 1);
        p.process(rec(chunk("e", 0, Arrays.copyOfRange(e, 0, 3), false)));
        p.process(rec(chunk("e", 1, Arrays.copyOfRange(e, 3, 6), true)));
        modelFails.set(true);
        final ProcessingFailure f = org.assertj.core.api.Assertions.catchThrowableOfType(ProcessingFailure.class,
                () -> p.process(rec(chunk("f", 0, tokens(5, 2), true))));
        assertThat(f).hasMessageContaining("encoder attention batch of 2 sequence(s)")
                .hasMessageContaining("injected model failure");
        assertThat(f.deadLetters()).extracting(dl -> new String(dl.key(), StandardCharsets.UTF_8))
                .containsExactly("e", "f");
        final TokenChunk whole = RecordSerdes.tokenChunk().decode(f.deadLetters().get(0).value());
        assertThat(whole).isEqualTo(chunk("e", 0, e, true));
        assertThat(keysOf(store, "e")).isEmpty();
        try (KeyValueIterator<byte[], byte[]> it = ready.all()) {
            assertThat(it.hasNext()).isFalse();
        }
        assertThat(ctx.forwarded()).isEmpty();
        // The next batch is computed as usual.
        p.process(rec(chunk("g", 0, tokens(9, 3), true)));
        assertThat(ctx.forwarded()).hasSize(1);
    }

    /**
     * Unreadable entries found at init (a buffer, and a closed marker, whose value is never read but is still part
     * of the store's whole read): dead-lettered on the next record, their sequences closed (the marker rewritten).
     */
    @Test
    void encoderUnreadableEntriesAtInitCloseTheirSequences() {
        final MockProcessorContext<String, Embedding> ctx = new MockProcessorContext<>(
                ChunkValidatorTest.mockProperties());
        ctx.setCurrentSystemTimeMs(1000);
        final KeyValueStore<String, byte[]> store = MockStores.bytes(ctx, AttentionEncoder.STORE, Serdes.String());
        MockStores.bytes(ctx, AttentionEncoder.READY_STORE, Serdes.ByteArray());
        final int[] g = tokens(6, 1);
        store.put("b", new byte[] {7, 1, 2});
        store.put(ClosedSequences.markerKey("m"), new byte[] {7});
        store.put("g", TokenBuffer.SERDE.serializer().serialize("t", new TokenBuffer(Arrays.copyOfRange(g, 0, 3))));
        final AttentionEncoder p = new AttentionEncoder(engines(), models.live(), 64, 0,
                new AttentionBatching(1, 60_000), telemetry);
        p.init(ctx);
        assertThat(ctx.forwarded()).isEmpty();
        p.process(rec(chunk("g", 1, Arrays.copyOfRange(g, 3, 6), true)));

        final List<DeadLetter> dead = ctx.forwarded().stream()
                .filter(f -> AttentionCausal.DEAD_LETTERS.equals(f.childName().orElse(null)))
                .map(f -> ((SequenceEvent) (Object) f.record().value()).deadLetter()).toList();
        assertThat(dead).extracting(dl -> new String(dl.key(), StandardCharsets.UTF_8)).containsExactly("b", "m");
        assertThat(dead.get(0).message()).startsWith("unreadable entry in store 'attention-buffer' key 'b' removed: ")
                .contains("format 7").endsWith("sequence 'b' closed");
        assertThat(dead.get(1).message()).contains("key 'm\\0closed'").endsWith("sequence 'm' closed");
        assertThat(dead).allSatisfy(dl -> assertThat(dl.reason()).isEqualTo(ErrorCode.PROCESSING_ERROR));
        assertThat(store.get("b")).isNull();
        // The unreadable marker is replaced by a readable one: m stays closed.
        assertThat(TokenBuffer.SERDE.deserializer().deserialize("t", store.get(ClosedSequences.markerKey("m"))))
                .isNotNull();
        for (final String closed : List.of("b", "m")) {
            assertThatThrownBy(() -> p.process(rec(chunk(closed, 1, tokens(2, 2), true))))
                    .isInstanceOf(ProcessingFailure.class)
                    .hasMessageContaining("closed by an earlier processing error");
        }
        assertThat(keysOf(store, "b")).isEmpty();
        assertThat(keysOf(store, "m")).isEmpty();
        // g went on from its restored tokens.
        final List<Embedding> out = ctx.forwarded().stream()
                .filter(f -> AttentionCausal.EMBEDDINGS.equals(f.childName().orElse(null)))
                .map(f -> (Embedding) f.record().value()).toList();
        assertThat(out).extracting(Embedding::getSequenceId).containsExactly("g");
        assertThat(Vectors.toArray(out.get(0).getVector())).containsExactly(
                models.attention().encode(g, Pooling.MEAN, true), org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void encoderBatchWithACorruptEntryDeadLettersTheOthersAndFreesAll() {
        final MockProcessorContext<String, Embedding> ctx = new MockProcessorContext<>(ChunkValidatorTest.mockProperties());
        ctx.setCurrentSystemTimeMs(1000);
        MockStores.bytes(ctx, AttentionEncoder.STORE, Serdes.String());
        final KeyValueStore<byte[], byte[]> ready = MockStores.bytes(ctx, AttentionEncoder.READY_STORE,
                Serdes.ByteArray());
        // Three sequences of 4 tokens flush together at 12 tokens.
        final AttentionEncoder p = new AttentionEncoder(engines(), models.live(), 64, 0,
                new AttentionBatching(12, 60_000), telemetry);
        p.init(ctx);
        p.process(rec(chunk("a", 0, tokens(4, 1), true)));
        p.process(rec(chunk("b", 0, tokens(4, 2), true)));
        // a's waiting entry is corrupted, as a bad changelog record would restore it.
        try (KeyValueIterator<byte[], byte[]> it = ready.all()) {
            ready.put(it.next().key, new byte[] {7, 1, 2});
        }
        final ProcessingFailure f = org.assertj.core.api.Assertions.catchThrowableOfType(ProcessingFailure.class,
                () -> p.process(rec(chunk("c", 0, tokens(4, 3), true))));
        assertThat(f).hasMessageContaining("encoder attention batch of 3 sequence(s) (1 unreadable)");
        assertThat(f.deadLetters()).extracting(dl -> new String(dl.key(), StandardCharsets.UTF_8))
                .containsExactly("b", "c");
        assertThat(f.deadLetters()).allSatisfy(dl -> assertThat(dl.reason()).isEqualTo(ErrorCode.PROCESSING_ERROR));
        try (KeyValueIterator<byte[], byte[]> it = ready.all()) {
            assertThat(it.hasNext()).as("every waiting entry freed, the corrupt one too").isFalse();
        }
        assertThat(ctx.forwarded()).isEmpty();
        // The next batch is computed as usual.
        p.process(rec(chunk("d", 0, tokens(12, 4), true)));
        assertThat(ctx.forwarded()).hasSize(1);
    }

    @Test
    void windowerCorruptBufferClosesTheSequence() {
        final MockProcessorContext<String, WindowRecord> ctx = new MockProcessorContext<>(
                ChunkValidatorTest.mockProperties());
        final List<KeyValueStore<Bytes, byte[]>> raw = new ArrayList<>();
        final KeyValueStore<String, WindowBuffer> store = MockStores.typed(ctx,
                MockStores.rawAccess(WindowAssembler.STORE, raw), Serdes.String(), WindowBuffer.SERDE);
        final WindowAssembler p = new WindowAssembler(new WindowSlicer(TestModels.DENSE));
        p.init(ctx);
        final java.util.function.Function<TokenChunk, Record<String, SequenceEvent>> ev =
                c -> new Record<>(c.getSequenceId(), SequenceEvent.chunk(c), 1000L);
        p.process(ev.apply(chunk("w", 0, tokens(5, 1), false)));
        raw.get(0).put(Bytes.wrap("w".getBytes(StandardCharsets.UTF_8)), new byte[0]);
        assertThatThrownBy(() -> p.process(ev.apply(chunk("w", 1, tokens(5, 1), false))))
                .isInstanceOf(ProcessingFailure.class).hasMessageContaining("(windower)");
        assertThat(store.get("w")).isNull();
        final int before = ctx.forwarded().size();
        assertThatThrownBy(() -> p.process(ev.apply(chunk("w", 2, tokens(5, 1), false))))
                .isInstanceOf(ProcessingFailure.class).hasMessageContaining("closed");
        assertThat(ctx.forwarded()).hasSize(before);
        // The validator's abort (idle eviction) clears the marker.
        p.process(new Record<>("w", SequenceEvent.abort("w"), 2000L));
        assertThat(keysOf(store, "w")).isEmpty();
    }

    @Test
    void denseModelErrorDeadLettersTheWholeBatch() {
        final AtomicBoolean clockFails = new AtomicBoolean();
        final MockProcessorContext<String, Embedding> ctx = new MockProcessorContext<>(
                ChunkValidatorTest.mockProperties()) {
            @Override
            public long currentSystemTimeMs() {
                if (clockFails.getAndSet(false)) {
                    throw new IllegalStateException("injected model failure");
                }
                return super.currentSystemTimeMs();
            }
        };
        ctx.setCurrentSystemTimeMs(1000);
        final KeyValueStore<byte[], byte[]> store = MockStores.bytes(ctx, DenseBatcher.STORE, Serdes.ByteArray());
        final DenseBatcher p = new DenseBatcher(models::dense, 3, 60_000, telemetry);
        p.init(ctx);
        final WindowSlicer slicer = new WindowSlicer(TestModels.DENSE);
        final List<WindowRecord> windows = new ArrayList<>();
        for (final WindowSlicer.Slice s : slicer.append(WindowBuffer.EMPTY, tokens(8, 1), true).windows()) {
            windows.add(s.toRecord("d", 900));
        }
        assertThat(windows).hasSize(3);
        p.process(new Record<>("d", windows.get(0), 1000L));
        p.process(new Record<>("d", windows.get(1), 1000L));
        clockFails.set(true);
        final ProcessingFailure f = org.assertj.core.api.Assertions.catchThrowableOfType(ProcessingFailure.class,
                () -> p.process(new Record<>("d", windows.get(2), 1000L)));
        assertThat(f).hasMessageContaining("dense batch of 3 window(s)").hasMessageContaining("injected model failure");
        assertThat(f.deadLetters()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            final DeadLetter dl = f.deadLetters().get(i);
            assertThat(dl.reason()).isEqualTo(ErrorCode.PROCESSING_ERROR);
            assertThat(new String(dl.key(), StandardCharsets.UTF_8)).isEqualTo("d");
            assertThat(dev.seqembed.serde.RecordSerdes.windowRecord().deserializer().deserialize("t", dl.value()))
                    .isEqualTo(windows.get(i));
        }
        try (KeyValueIterator<byte[], byte[]> it = store.all()) {
            assertThat(it.hasNext()).isFalse();
        }
        assertThat(ctx.forwarded()).isEmpty();
        // The next batch is computed as usual.
        for (final WindowRecord w : windows) {
            p.process(new Record<>("d", w, 1000L));
        }
        assertThat(ctx.forwarded()).hasSize(3);
        assertThat(ctx.forwarded().stream().map(r -> ((Embedding) r.record().value()).getIndex()).toList())
                .containsExactly(0, 1, 2);
    }
}
