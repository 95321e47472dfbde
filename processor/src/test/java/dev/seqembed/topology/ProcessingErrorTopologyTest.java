package dev.seqembed.topology;

import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.engine.Vectors;
import dev.seqembed.engine.WindowSlicer;
import dev.seqembed.model.DefaultModels;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.processor.AttentionCausal;
import dev.seqembed.processor.AttentionEncoder;
import dev.seqembed.processor.ChunkValidator;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.processor.DenseBatcher;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.state.BufferedWindow;
import dev.seqembed.state.KvCacheStore;
import dev.seqembed.state.ReadySequence;
import dev.seqembed.state.TokenBuffer;
import dev.seqembed.state.WindowBuffer;
import dev.seqembed.testing.TestModels;

/**
 * Records that fail after validation, through the real topologies (SPEC §10.6): a corrupt KV-cache entry in the
 * attention state and a model that throws. The failing record goes to {@code tokens.dlq} with reason
 * PROCESSING_ERROR and its original bytes; everything else is processed as if nothing happened.
 *
 * <p>And a corrupt entry in a store that a processor reads whole when its task starts (restored from a corrupt
 * changelog record): instead of failing the task, and with it the client, the entry is removed, dead-lettered with
 * its raw bytes as PROCESSING_ERROR (message: store, key, decoding error) and counted; the processor goes on with
 * the readable entries, and a sequence whose buffered tokens were lost is closed.
 */
class ProcessingErrorTopologyTest extends TopologyTestBase {

    /** Not a state value: a format byte no release wrote, then noise. */
    private static final byte[] GARBAGE = {7, 1, 2, 3};
    /** The attention topology's stores in encoder mode. */
    private static final List<String> ENCODER_STORES = List.of(AttentionEncoder.STORE, AttentionEncoder.READY_STORE);

    private final AtomicBoolean modelFails = new AtomicBoolean();


    private static byte[] utf8(final String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] slot(final long n) {
        return ByteBuffer.allocate(Long.BYTES).putLong(n).array();
    }

    /** A dead letter of an unreadable entry: PROCESSING_ERROR, the raw bytes, no source record. */
    private static void assertUnreadable(final TestRecord<byte[], byte[]> r, final byte[] key, final String store,
                                         final String keyText) {
        assertThat(r.key()).isEqualTo(key);
        assertThat(r.value()).isEqualTo(GARBAGE);
        assertThat(header(r, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(header(r, DeadLetter.HEADER_MESSAGE))
                .contains("unreadable entry in store '" + store + "' key " + keyText)
                .contains("has format 7");
        assertThat(header(r, DeadLetter.HEADER_TOPIC)).isEmpty();
        assertThat(header(r, DeadLetter.HEADER_PARTITION)).isEqualTo("-1");
        assertThat(header(r, DeadLetter.HEADER_OFFSET)).isEqualTo("-1");
    }

    private double deadLettered() {
        return fx.telemetry.registry().counter("seqembed.dlq", "reason", "PROCESSING_ERROR").count();
    }

    /** Asserts the dead letter of an unreadable sequence-progress entry: it closed sequence {@code id}. */
    private static void assertUnreadableProgress(final TestRecord<byte[], byte[]> r, final String id) {
        assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(id);
        assertThat(r.value()).isEmpty();
        assertThat(header(r, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(header(r, DeadLetter.HEADER_MESSAGE))
                .contains("unreadable entry in store '" + ChunkValidator.STORE + "' key '" + id + "' replaced")
                .contains("has format 7").contains("sequence '" + id + "' closed");
        assertThat(header(r, DeadLetter.HEADER_PARTITION)).isEqualTo("-1");
    }

    @Test
    void anUnreadableProgressEntryClosesItsSequenceAndTheOthersGoOn() throws Exception {
        TopologyFixture.restored(stateDir, TopologyFixture.ingestApplicationId(Map.of()),
                SeqembedTopology.INGEST_STORES, ChunkValidator.STORE,
                Map.of("p".getBytes(StandardCharsets.UTF_8), GARBAGE));
        fx = new TopologyFixture(models, stateDir, Map.of());

        final TokenChunk p1 = chunk("p", 1, tokens(4, 1), false);
        fx.send(p1);
        final int[] g = tokens(20, 3);
        fx.send(chunk("g", 0, g, true));
        fx.send(chunk("p", 2, tokens(4, 2), true));

        final List<TestRecord<byte[], byte[]>> dead = fx.dlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        assertUnreadableProgress(dead.get(0), "p");
        // p's chunks after the loss: dead-lettered with their bytes, never embedded
        assertThat(RecordSerdes.tokenChunk().decode(dead.get(1).value())).isEqualTo(p1);
        assertThat(header(dead.get(1), DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(header(dead.get(1), DeadLetter.HEADER_MESSAGE)).contains("already rejected with PROCESSING_ERROR");
        assertThat(header(dead.get(2), DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(deadLettered()).isEqualTo(3.0);
        // g, sent around them, comes out on both paths as usual
        assertThat(fx.denseOut()).isNotEmpty().allSatisfy(e -> assertThat(e.getSequenceId()).isEqualTo("g"));
        final List<Embedding> attention = fx.attentionOut();
        assertThat(attention).extracting(Embedding::getSequenceId).containsExactly("g");
        assertVector(attention.get(0), models.attention().encode(g, Pooling.MEAN, true));
    }

    @Test
    void theIdleScanClosesAnUnreadableProgressEntryAndStillEvicts() throws Exception {
        TopologyFixture.restored(stateDir, TopologyFixture.ingestApplicationId(Map.of()),
                SeqembedTopology.INGEST_STORES, ChunkValidator.STORE,
                Map.of("p".getBytes(StandardCharsets.UTF_8), GARBAGE));
        fx = new TopologyFixture(models, stateDir, Map.of(SeqembedConfig.STATE_IDLE_TIMEOUT_MS, "4000"));
        fx.send(chunk("g", 0, tokens(8, 3), false));

        fx.advance(java.time.Duration.ofMillis(1_100)); // one scan: p is found unreadable, g is not idle yet
        final List<TestRecord<byte[], byte[]>> dead = fx.dlq.readRecordsToList();
        assertThat(dead).hasSize(1);
        assertUnreadableProgress(dead.get(0), "p");

        fx.advance(java.time.Duration.ofMillis(5_000)); // later scans: g evicted, nothing fails again
        assertThat(fx.dlq.isEmpty()).isTrue();
        assertThat(fx.telemetry.registry().counter("seqembed.sequences.evicted").count()).isEqualTo(1.0);
        fx.send(chunk("p", 0, tokens(4, 1), true)); // p's closed entry was evicted too: the id starts afresh
        assertThat(fx.dlq.isEmpty()).isTrue();
    }

    @Test
    void aCorruptKvCacheEntryDeadLettersItsSequenceAndNothingElse() throws Exception {
        fx = new TopologyFixture(models, stateDir, Map.of("attention.mode", "causal"));
        final int[] p = tokens(12, 1);
        final int[] g = tokens(12, 5);
        fx.send(chunk("p", 0, Arrays.copyOfRange(p, 0, 4), false));
        fx.send(chunk("g", 0, Arrays.copyOfRange(g, 0, 4), false));
        fx.settleAttention();
        // What a corrupt changelog record restores: p's cache header with a version this release does not read.
        final KeyValueStore<String, byte[]> cache = fx.attentionDriver.getKeyValueStore(AttentionCausal.STORE);
        final byte[] header = cache.get("p\u0000h").clone();
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 99);
        cache.put("p\u0000h", header);

        final TokenChunk p1 = chunk("p", 1, Arrays.copyOfRange(p, 4, 8), false);
        fx.send(p1);
        fx.send(chunk("g", 1, Arrays.copyOfRange(g, 4, 8), false));
        fx.send(chunk("p", 2, Arrays.copyOfRange(p, 8, 12), true));
        fx.send(chunk("g", 2, Arrays.copyOfRange(g, 8, 12), true));
        // One flush of the four waiting chunks: p 1 fails (its sequence closed) and g 1 is embedded, then p 2 is
        // refused and g 2 embedded; the dead letters are those the error handler would have written on arrival.
        fx.settleAttention();

        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).hasSize(2);
        final TestRecord<byte[], byte[]> first = dead.get(0);
        assertThat(header(first, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(header(first, DeadLetter.HEADER_MESSAGE)).contains("sequence 'p' chunk 1")
                .contains("not a KV cache header of version");
        assertThat(header(first, DeadLetter.HEADER_TOPIC)).isEqualTo(fx.config.topicAttentionChunks());
        // The original bytes: the validated chunk as it travelled on the chunks topic, a TokenChunk as produced.
        assertThat(new String(first.key(), StandardCharsets.UTF_8)).isEqualTo("p");
        assertThat(RecordSerdes.tokenChunk().decode(first.value())).isEqualTo(p1);
        assertThat(header(dead.get(1), DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(header(dead.get(1), DeadLetter.HEADER_MESSAGE)).contains("closed by an earlier processing error");
        assertThat(fx.telemetry.registry().counter("seqembed.dlq", "reason", "PROCESSING_ERROR").count())
                .isEqualTo(2.0);

        // p's first chunk came out before the corruption; g is complete and equals a causal forward over it.
        final List<Embedding> out = fx.attention.readValuesToList();
        assertThat(out).extracting(e -> e.getSequenceId() + "#" + e.getIndex())
                .containsExactly("p#0", "g#0", "g#1", "g#2");
        final float[] whole = models.attention().appendCausal(models.attention().newCache(), g, Pooling.MEAN, true);
        assertVector(out.get(3), whole);
        // Nothing of p is left in the attention state; the ingest side saw nothing wrong.
        assertThat(KvCacheStore.storedBytes(cache, "p")).isZero();
        assertThat(fx.dlq.isEmpty()).isTrue();
        // The dense path of p is its own: all its windows are embedded.
        assertThat(fx.denseOut()).filteredOn(e -> e.getSequenceId().equals("p")).isNotEmpty();
    }

    @Test
    void aModelErrorInAMicroBatchDeadLettersItsSequencesAndTheNextBatchIsEmbedded() throws Exception {
        final AttentionEngine.Factory failing = failingOnceWhenSet(modelFails);
        fx = new TopologyFixture(models, stateDir, Map.of(), failing);
        final int[] a = tokens(10, 2);
        final int[] b = tokens(9, 4);
        fx.send(chunk("a", 0, Arrays.copyOfRange(a, 0, 5), false));
        fx.send(chunk("a", 1, Arrays.copyOfRange(a, 5, 10), true));
        // The batch flushes from the wall-clock punctuator, and fails there.
        modelFails.set(true);
        assertThat(fx.attentionOut()).isEmpty();
        fx.send(chunk("b", 0, b, true));
        final List<Embedding> out = fx.attentionOut();

        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).hasSize(1);
        assertThat(header(dead.get(0), DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(header(dead.get(0), DeadLetter.HEADER_MESSAGE))
                .contains("sequence 'a': encoder attention batch of 1 sequence(s)").contains("injected model failure");
        // Its chunks were merged when it completed: the dead letter is the whole sequence as one last chunk.
        assertThat(new String(dead.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("a");
        assertThat(RecordSerdes.tokenChunk().decode(dead.get(0).value())).isEqualTo(chunk("a", 0, a, true));
        assertThat(out).extracting(Embedding::getSequenceId).containsExactly("b");
        final float[] want = models.attention().encode(b, Pooling.MEAN, true);
        assertVector(out.get(0), want);
    }

    /**
     * The windower feeds the dense batcher in the same task: a batch that fails (here a replacement dense model with
     * a smaller vocabulary meets token ids it does not know) dead-letters its windows, and the windower's state is
     * untouched, so the sequence's later windows come out at their right indexes once the model is fixed.
     */
    @Test
    void aDenseModelErrorDeadLettersTheBatchsWindowsAndTheWindowerGoesOn() throws Exception {
        final LiveModels live = new LiveModels(models.dense(), models.attention());
        final WindowMlpConfig smallVocab = new WindowMlpConfig(100, TestModels.DENSE.embedDim(),
                TestModels.DENSE.window(), TestModels.DENSE.stride(), TestModels.DENSE.hiddenSize(),
                TestModels.DENSE.outputSize(), TestModels.DENSE.hiddenAct(), TestModels.DENSE.normalize(),
                TestModels.DENSE.padTokenId());
        DefaultModels.writeDense(modelDir.resolve("small-vocab"), smallVocab, 3);
        final DenseWindowModel broken = DenseWindowModel.load(modelDir.resolve("small-vocab"));
        final int[] m = {150, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21};
        final int[] first = Arrays.copyOfRange(m, 0, 8);
        final WindowSlicer slicer = new WindowSlicer(TestModels.DENSE);
        final WindowSlicer.Result firstWindows = slicer.append(WindowBuffer.EMPTY, first, false);
        assertThat(firstWindows.windows()).hasSize(2);
        // What the windower makes of the second chunk when its state is intact.
        final List<WindowSlicer.Slice> rest = slicer.append(firstWindows.state(), Arrays.copyOfRange(m, 8, m.length),
                true).windows();
        assertThat(rest).isNotEmpty();
        fx = new TopologyFixture(live, stateDir, Map.of(SeqembedConfig.DENSE_BATCH_MAX_WINDOWS, "3"));

        live.replaceDense(broken);
        fx.send(chunk("m", 0, first, false));
        // x's window fills the batch: it flushes inside the windower's forward, and fails.
        fx.send(chunk("x", 0, new int[] {21, 22, 23}, true));
        final List<TestRecord<byte[], byte[]>> dead = fx.dlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        for (final TestRecord<byte[], byte[]> r : dead) {
            assertThat(header(r, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
            assertThat(header(r, DeadLetter.HEADER_MESSAGE)).contains("dense batch of 3 window(s)")
                    .contains("token id 150");
        }
        final List<WindowRecord> deadWindows = dead.stream()
                .map(r -> RecordSerdes.windowRecord().deserializer().deserialize("t", r.value())).toList();
        assertThat(deadWindows).extracting(w -> w.getSequenceId() + "#" + w.getWindowIndex())
                .containsExactly("m#0", "m#1", "x#0");
        assertThat(fx.telemetry.registry().counter("seqembed.dlq", "reason", "PROCESSING_ERROR").count())
                .isEqualTo(3.0);

        live.replaceDense(models.dense());
        fx.send(chunk("m", 1, Arrays.copyOfRange(m, 8, m.length), true));
        final List<Embedding> out = fx.denseOut();
        // m's later windows, at the indexes and with the tokens of an intact windower state.
        assertThat(out).extracting(Embedding::getIndex)
                .containsExactlyElementsOf(rest.stream().map(WindowSlicer.Slice::index).toList());
        for (int i = 0; i < rest.size(); i++) {
            final WindowRecord w = rest.get(i).toRecord("m", 0);
            final float[] want = models.dense().embedWindow(Vectors.toIntArray(w.getTokens()), w.getValid());
            assertThat(Vectors.toArray(out.get(i).getVector())).containsExactly(want, within(1e-6f));
        }
        assertThat(fx.dlq.isEmpty()).isTrue();
    }

    @Test
    void anUnreadableEncoderBufferIsDeadLetteredAndClosesOnlyItsSequence() throws Exception {
        final int[] g = tokens(10, 2);
        final int[] p = tokens(9, 5);
        final Map<byte[], byte[]> entries = new LinkedHashMap<>();
        entries.put(utf8("g"), TokenBuffer.SERDE.serializer().serialize("t",
                new TokenBuffer(Arrays.copyOfRange(g, 0, 4), models.attention().sha256())));
        entries.put(utf8("p"), GARBAGE);
        TopologyFixture.restored(stateDir, TopologyFixture.attentionApplicationId(Map.of()), ENCODER_STORES,
                AttentionEncoder.STORE, entries);
        fx = new TopologyFixture(models, stateDir, Map.of());
        assertThat(fx.attentionDlq.isEmpty()).as("settled on the first record, not in init").isTrue();

        fx.sendToAttention(chunk("g", 1, Arrays.copyOfRange(g, 4, 10), true));
        fx.sendToAttention(chunk("p", 1, Arrays.copyOfRange(p, 4, 7), false));
        fx.sendToAttention(chunk("p", 2, Arrays.copyOfRange(p, 7, 9), true));
        final List<Embedding> out = fx.attentionOut();

        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        assertUnreadable(dead.get(0), utf8("p"), AttentionEncoder.STORE, "'p'");
        assertThat(header(dead.get(0), DeadLetter.HEADER_MESSAGE)).endsWith("sequence 'p' closed");
        // p's later chunks are not buffered anew (an embedding of its last five tokens): closed, like the causal path.
        for (final TestRecord<byte[], byte[]> r : dead.subList(1, 3)) {
            assertThat(r.key()).isEqualTo(utf8("p"));
            assertThat(header(r, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
            assertThat(header(r, DeadLetter.HEADER_MESSAGE)).contains("closed by an earlier processing error");
        }
        assertThat(deadLettered()).isEqualTo(3.0);
        // g goes on from its restored tokens: one Embedding of all ten.
        assertThat(out).extracting(Embedding::getSequenceId).containsExactly("g");
        assertVector(out.get(0), models.attention().encode(g, Pooling.MEAN, true));
        // Nothing of p is left: the entry, and the marker its last chunk removed.
        final KeyValueStore<String, byte[]> store = fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE);
        try (KeyValueIterator<String, byte[]> it = store.all()) {
            assertThat(it.hasNext()).isFalse();
        }
    }

    @Test
    void anUnreadableWaitingSequenceIsDeadLetteredAndTheBatchGoesOn() throws Exception {
        final int[] a = tokens(7, 3);
        final int[] b = tokens(5, 8);
        final Map<byte[], byte[]> waiting = new LinkedHashMap<>();
        waiting.put(slot(0), ReadySequence.SERDE.serializer().serialize("t",
                new ReadySequence("a", a, 123L, models.attention().sha256())));
        waiting.put(slot(1), GARBAGE);
        TopologyFixture.restored(stateDir, TopologyFixture.attentionApplicationId(Map.of()), ENCODER_STORES,
                AttentionEncoder.READY_STORE, waiting);
        fx = new TopologyFixture(models, stateDir, Map.of());

        // The wait bound runs out: the punctuator dead-letters the unreadable entry, then flushes the batch.
        final List<Embedding> restored = fx.attentionOut();
        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).hasSize(1);
        // A waiting sequence's id is in its (unreadable) value: the key is the store's, its arrival number.
        assertUnreadable(dead.get(0), slot(1), AttentionEncoder.READY_STORE, "0000000000000001");
        assertThat(deadLettered()).isEqualTo(1.0);
        assertThat(restored).extracting(Embedding::getSequenceId).containsExactly("a");
        assertVector(restored.get(0), models.attention().encode(a, Pooling.MEAN, true));

        // The next sequence takes the freed arrival number and is embedded as usual.
        fx.sendToAttention(chunk("b", 0, b, true));
        final List<Embedding> next = fx.attentionOut();
        assertThat(next).extracting(Embedding::getSequenceId).containsExactly("b");
        assertVector(next.get(0), models.attention().encode(b, Pooling.MEAN, true));
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.READY_STORE).approximateNumEntries()).isZero();
        assertThat(fx.attentionDlq.isEmpty()).isTrue();
    }

    @Test
    void unreadableDenseBatchWindowsAreDeadLetteredAndTheRestOfTheBatchIsEmbedded() throws Exception {
        final WindowRecord w = new WindowSlicer(TestModels.DENSE).append(WindowBuffer.EMPTY, tokens(6, 4), false)
                .windows().get(0).toRecord("d", 900);
        // Slot 0 unreadable (the readable window moves into it), slot 1 readable, slot 2 unreadable.
        final Map<byte[], byte[]> batch = new LinkedHashMap<>();
        batch.put(slot(0), GARBAGE);
        batch.put(slot(1), BufferedWindow.SERDE.serializer().serialize("t", new BufferedWindow(w, 456L)));
        batch.put(slot(2), GARBAGE);
        TopologyFixture.restored(stateDir, TopologyFixture.ingestApplicationId(Map.of()),
                SeqembedTopology.INGEST_STORES, DenseBatcher.STORE, batch);
        fx = new TopologyFixture(models, stateDir, Map.of());

        final List<Embedding> restored = fx.denseOut();
        final List<TestRecord<byte[], byte[]>> dead = fx.dlq.readRecordsToList();
        assertThat(dead).hasSize(2);
        assertUnreadable(dead.get(0), slot(0), DenseBatcher.STORE, "0000000000000000");
        assertUnreadable(dead.get(1), slot(2), DenseBatcher.STORE, "0000000000000002");
        assertThat(deadLettered()).isEqualTo(2.0);
        assertThat(restored).hasSize(1);
        assertThat(restored.get(0).getSequenceId()).isEqualTo("d");
        assertThat(Vectors.toArray(restored.get(0).getVector())).containsExactly(
                models.dense().embedWindow(Vectors.toIntArray(w.getTokens()), w.getValid()), within(1e-6f));
        final KeyValueStore<byte[], byte[]> store = fx.driver.getKeyValueStore(DenseBatcher.STORE);
        try (KeyValueIterator<byte[], byte[]> it = store.all()) {
            assertThat(it.hasNext()).as("every slot freed").isFalse();
        }

        // New sequences are windowed and embedded as usual.
        fx.send(chunk("n", 0, tokens(9, 1), true));
        final List<Embedding> next = fx.denseOut();
        assertThat(next).isNotEmpty().allSatisfy(e -> assertThat(e.getSequenceId()).isEqualTo("n"));
        assertThat(next.get(next.size() - 1).getFinal$()).isTrue();
        assertThat(fx.dlq.isEmpty()).isTrue();
    }
}
