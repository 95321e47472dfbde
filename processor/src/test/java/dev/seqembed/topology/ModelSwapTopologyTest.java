package dev.seqembed.topology;

import static dev.seqembed.topology.TopologyTestBase.assertVector;
import static dev.seqembed.topology.TopologyTestBase.header;
import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.state.KvCacheStore;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Clock;
import dev.seqembed.engine.DenseEngine;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.engine.Vectors;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DefaultModels;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.processor.AttentionCausal;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.TestModels;

/**
 * Model hot swap through the real topologies (SPEC §10.5): a sequence with state finishes on the model it
 * started with, new sequences and the next dense batch use the new one, a causal cache of a model no longer
 * loaded is closed with MODEL_CHANGED. Vectors are compared with the offline engines on the named model.
 */
class ModelSwapTopologyTest {

    @TempDir
    static Path modelDir;

    @TempDir
    Path stateDir;

    private static Models first;
    private static BertModel secondBert;
    private static DenseWindowModel secondDense;

    private LiveModels live;
    private TopologyFixture fx;

    @BeforeAll
    static void loadModels() throws Exception {
        first = TestModels.write(modelDir);
        DefaultModels.writeBert(modelDir.resolve("attention-2"), TestModels.BERT, 12);
        secondBert = BertModel.load(modelDir.resolve("attention-2"));
        DefaultModels.writeDense(modelDir.resolve("dense-2"), TestModels.DENSE, 8);
        secondDense = DenseWindowModel.load(modelDir.resolve("dense-2"));
    }

    @BeforeEach
    void holder() {
        live = first.live();
    }

    @AfterEach
    void close() {
        fx.close();
    }

    /** The offline encoder-mode vector of {@code tokens} on {@code model} (what {@code embed} computes). */
    private static float[] offlineEncoder(final BertModel model, final int[] tokens) {
        return Vectors.toArray(new AttentionEngine(model, Pooling.MEAN, true, Clock.SYSTEM)
                .encode("x", tokens, 0, 0).getVector());
    }

    /** The offline causal vectors of {@code model} after each chunk ({@code embed --mode causal --chunk}). */
    private static float[][] offlineCausal(final BertModel model, final int[]... chunks) {
        final AttentionEngine engine = new AttentionEngine(model, Pooling.MEAN, true, Clock.SYSTEM);
        final KvCache cache = model.newCache();
        final float[][] out = new float[chunks.length][];
        for (int i = 0; i < chunks.length; i++) {
            out[i] = Vectors.toArray(engine.causal("x", cache, i, chunks[i], false, 0).getVector());
        }
        return out;
    }

    private static void assertComputedBy(final Embedding e, final BertModel model, final float[] expected) {
        assertThat(e.getModel().getSha256()).isEqualTo(model.sha256());
        assertThat(e.getModel().getId()).isEqualTo(model.id());
        assertThat(Vectors.toArray(e.getVector())).containsExactly(expected);
    }

    @Test
    void encoderSequenceOpenAtTheSwapFinishesOnItsModelAndNewOnesUseTheNewModel() {
        // One sequence per forward: the vectors are those of offline embed to the bit.
        fx = new TopologyFixture(live, stateDir, Map.of("attention.batch.max-tokens", "1"));
        final int[] old = tokens(11, 2);
        fx.send(chunk("old", 0, Arrays.copyOf(old, 5), false));
        live.replaceAttention(secondBert);

        final int[] fresh = tokens(7, 40);
        fx.send(chunk("new-whole", 0, fresh, true));
        fx.send(chunk("new-chunked", 0, Arrays.copyOf(old, 4), false));
        assertThat(live.retirePreviousIfUnused()).as("'old' is open on the first model").isNull();
        fx.send(chunk("old", 1, Arrays.copyOfRange(old, 5, 11), true));
        fx.send(chunk("new-chunked", 1, Arrays.copyOfRange(old, 4, 11), true));

        final List<Embedding> out = fx.attentionOut();
        assertThat(out).extracting(e -> e.getSequenceId().toString())
                .containsExactly("new-whole", "old", "new-chunked");
        assertComputedBy(out.get(0), secondBert, offlineEncoder(secondBert, fresh));
        assertComputedBy(out.get(1), first.attention(), offlineEncoder(first.attention(), old));
        assertComputedBy(out.get(2), secondBert, offlineEncoder(secondBert, old));
        assertThat(live.retirePreviousIfUnused()).as("no open sequence needs it now").isSameAs(first.attention());
    }

    @Test
    void anEncoderBatchHoldingSequencesOfBothModelsEmbedsEachOnItsOwn() {
        fx = new TopologyFixture(live, stateDir, Map.of("attention.batch.max-tokens", "1000",
                "attention.batch.max-wait-ms", "50"));
        final int[] old = tokens(9, 4);
        final int[] fresh = tokens(6, 30);
        fx.send(chunk("old", 0, Arrays.copyOf(old, 3), false));
        live.replaceAttention(secondBert);
        fx.send(chunk("fresh", 0, fresh, true));
        fx.send(chunk("old", 1, Arrays.copyOfRange(old, 3, 9), true));
        assertThat(live.retirePreviousIfUnused()).as("'old' waits in the batch on the first model").isNull();

        final List<Embedding> out = fx.attentionOut();
        assertThat(out).extracting(e -> e.getSequenceId().toString()).containsExactly("fresh", "old");
        assertThat(out.get(0).getModel().getSha256()).isEqualTo(secondBert.sha256());
        assertThat(out.get(1).getModel().getSha256()).isEqualTo(first.attention().sha256());
        assertVector(out.get(0), offlineEncoder(secondBert, fresh));
        assertVector(out.get(1), offlineEncoder(first.attention(), old));
        assertThat(live.retirePreviousIfUnused()).isSameAs(first.attention());
    }

    @Test
    void causalSequenceOpenAtTheSwapGoesOnWithItsCacheAndModel() {
        fx = new TopologyFixture(live, stateDir, Map.of("attention.mode", "causal"));
        final int[] a = tokens(4, 1);
        final int[] b = tokens(3, 9);
        final int[] c = tokens(5, 20);
        fx.send(chunk("old", 0, a, false));
        fx.settleAttention(); // "old" starts (is computed) before the swap
        live.replaceAttention(secondBert);
        fx.send(chunk("new", 0, a, false));
        fx.send(chunk("old", 1, b, false));
        fx.send(chunk("new", 1, b, true));
        fx.send(chunk("old", 2, c, true));

        // One flush, one forward per model: "new" 0 and 1 on the new model, then "old" 1 and 2 on its own.
        final List<Embedding> out = fx.attentionOut();
        final float[][] onFirst = offlineCausal(first.attention(), a, b, c);
        final float[][] onSecond = offlineCausal(secondBert, a, b);
        assertThat(out).hasSize(5);
        assertComputedBy(out.get(0), first.attention(), onFirst[0]);
        assertComputedBy(out.get(1), secondBert, onSecond[0]);
        assertComputedBy(out.get(2), secondBert, onSecond[1]);
        assertComputedBy(out.get(3), first.attention(), onFirst[1]);
        assertComputedBy(out.get(4), first.attention(), onFirst[2]);
        assertThat(out.get(4).getFinal$()).isTrue();
        assertThat(fx.attentionDlq.isEmpty()).isTrue();
        assertThat(live.retirePreviousIfUnused()).isSameAs(first.attention());
    }

    @Test
    void causalCacheOfAModelNoLongerLoadedClosesTheSequenceWithModelChanged() {
        fx = new TopologyFixture(live, stateDir, Map.of("attention.mode", "causal"));
        fx.send(chunk("gone", 0, tokens(4, 1), false));
        fx.send(chunk("kept", 0, tokens(2, 5), false));
        fx.settleAttention();
        live.replaceAttention(secondBert);
        // As after a rebalance to an instance that never loaded the first model: nothing holds it any more.
        live.usage(AttentionCausal.STORE + "-0_0");
        assertThat(live.retirePreviousIfUnused()).isSameAs(first.attention());

        final TokenChunk next = chunk("gone", 1, tokens(3, 9), false);
        fx.send(next);
        fx.send(chunk("gone", 2, tokens(2, 30), false));
        fx.send(chunk("gone", 3, tokens(1, 50), true));
        fx.send(chunk("fresh", 0, tokens(3, 3), true));
        fx.settleAttention();

        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        final TestRecord<byte[], byte[]> closed = dead.get(0);
        assertThat(new String(closed.key(), StandardCharsets.UTF_8)).isEqualTo("gone");
        assertThat(closed.value()).isEqualTo(RecordSerdes.tokenChunk().encode(next));
        assertThat(header(closed, DeadLetter.HEADER_REASON)).isEqualTo("MODEL_CHANGED");
        assertThat(header(closed, DeadLetter.HEADER_MESSAGE)).contains(first.attention().sha256());
        assertThat(header(closed, DeadLetter.HEADER_TOPIC)).isEqualTo(fx.config.topicAttentionChunks());
        for (final TestRecord<byte[], byte[]> later : dead) {
            assertThat(header(later, DeadLetter.HEADER_REASON)).isEqualTo("MODEL_CHANGED");
        }
        assertThat(fx.telemetry.registry().counter("seqembed.dlq", "reason", "MODEL_CHANGED").count()).isEqualTo(3);

        final List<Embedding> out = fx.attention.readValuesToList();
        assertThat(out).extracting(e -> e.getSequenceId().toString()).containsExactly("gone", "kept", "fresh");
        assertComputedBy(out.get(2), secondBert, offlineCausal(secondBert, tokens(3, 3))[0]);
        // The closed sequence left nothing behind.
        assertThat(KvCacheStore.load(fx.attentionDriver.getKeyValueStore(AttentionCausal.STORE), "gone")).isNull();
        assertThat(KvCacheStore.storedBytes(fx.attentionDriver.getKeyValueStore(AttentionCausal.STORE), "gone"))
                .isZero();
    }

    @Test
    void theNextDenseBatchUsesTheNewDenseModel() {
        fx = new TopologyFixture(live, stateDir, Map.of());
        final int[] seq = tokens(4, 3);
        fx.send(chunk("before", 0, seq, true));
        final List<Embedding> before = fx.denseOut();
        live.replaceDense(secondDense);
        fx.send(chunk("after", 0, seq, true));
        final List<Embedding> after = fx.denseOut();
        assertThat(before).singleElement().satisfies(e -> assertDense(e, first.dense(), seq));
        assertThat(after).singleElement().satisfies(e -> assertDense(e, secondDense, seq));
    }

    private static void assertDense(final Embedding e, final DenseWindowModel model, final int[] seq) {
        final WindowRecord w = WindowRecord.newBuilder().setSequenceId("x").setWindowIndex(0).setStart(0)
                .setTokens(Arrays.stream(seq).boxed().toList()).setValid(seq.length).setFinal$(true).setIngestTimeMs(0).build();
        final Embedding offline = new DenseEngine(model, Clock.SYSTEM).embed(List.of(new DenseEngine.Pending(w, 0)))
                .get(0);
        assertThat(e.getModel().getSha256()).isEqualTo(model.sha256());
        assertThat(e.getVector()).isEqualTo(offline.getVector());
    }

}
