package dev.seqembed.engine;

import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.testing.TestModels;

/** A causal micro-batch gives each chunk what it gets alone, with the batch's cost shared by FLOPs. */
class AttentionEngineCausalBatchTest {

    @TempDir
    static Path dir;
    static BertModel bert;

    @BeforeAll
    static void load() throws Exception {
        bert = TestModels.write(dir).attention();
    }

    @Test
    void eachChunkOfABatchEqualsItsChunkComputedAloneAndTheComputeSharesAddUp() {
        final AttentionEngine engine = new AttentionEngine(bert, Pooling.MEAN, true, () -> 1_000L);
        final KvCache withPrefix = bert.newCache();
        engine.causal("a", withPrefix, 0, tokens(9, 1), false, 0);
        final KvCache aloneWithPrefix = bert.newCache();
        engine.causal("a", aloneWithPrefix, 0, tokens(9, 1), false, 0);

        final KvCache fresh = bert.newCache();
        final List<Embedding> batch = engine.causalBatch(List.of(
                new AttentionEngine.CausalChunk("a", withPrefix, 1, tokens(5, 20), false, 900L),
                new AttentionEngine.CausalChunk("b", fresh, 0, tokens(12, 40), true, 950L),
                new AttentionEngine.CausalChunk("c", aloneWithPrefix, 1, new int[0], true, 990L)));
        final Embedding a = engine.causal("a", aloneWithPrefix, 1, tokens(5, 20), false, 900L);
        final Embedding b = engine.causal("b", bert.newCache(), 0, tokens(12, 40), true, 950L);

        assertVector(batch.get(0), a);
        assertVector(batch.get(1), b);
        assertThat(batch.get(0).getStart()).isEqualTo(9);
        assertThat(batch.get(0).getMetrics().getFlops()).isEqualTo(TestModels.BERT.flops(5, 14));
        assertThat(batch.get(1).getMetrics().getFlops()).isEqualTo(TestModels.BERT.flops(12, 12));
        // The empty closing chunk computes nothing: the embedding of its cache's prefix (9 tokens, before a's 1).
        assertThat(batch.get(2).getMetrics().getFlops()).isZero();
        assertThat(batch.get(2).getMetrics().getComputeNanos()).isZero();
        assertThat(batch.get(2).getLength()).isZero();
        assertThat(batch).allSatisfy(e -> {
            assertThat(e.getMetrics().getBatchSize()).isEqualTo(3);
            assertThat(e.getMetrics().getBatchTokens()).isEqualTo(17);
        });
        assertThat(batch.get(0).getMetrics().getQueueMillis()).isEqualTo(100);
        final long total = batch.stream().mapToLong(e -> e.getMetrics().getComputeNanos()).sum();
        assertThat(batch.get(1).getMetrics().getComputeNanos())
                .isCloseTo(Math.round((double) total * TestModels.BERT.flops(12, 12)
                        / (TestModels.BERT.flops(12, 12) + TestModels.BERT.flops(5, 14))), within(2L));
        assertThat(withPrefix.length()).isEqualTo(14);
        assertThat(fresh.length()).isEqualTo(12);
    }

    @Test
    void aSequencesChunksInOneBatchEqualThemOneAfterAnother() {
        final AttentionEngine engine = new AttentionEngine(bert, Pooling.MEAN, true, () -> 0L);
        final KvCache together = bert.newCache();
        final KvCache apart = bert.newCache();
        engine.causal("a", together, 0, tokens(3, 1), false, 0);
        engine.causal("a", apart, 0, tokens(3, 1), false, 0);
        final KvCache other = bert.newCache();

        final List<Embedding> batch = engine.causalBatch(List.of(
                new AttentionEngine.CausalChunk("a", together, 1, tokens(4, 10), false, 0),
                new AttentionEngine.CausalChunk("b", other, 0, tokens(6, 30), false, 0),
                new AttentionEngine.CausalChunk("a", together, 2, new int[0], false, 0),
                new AttentionEngine.CausalChunk("a", together, 3, tokens(5, 50), true, 0)));
        final List<Embedding> alone = List.of(engine.causal("a", apart, 1, tokens(4, 10), false, 0),
                engine.causal("a", apart, 2, new int[0], false, 0), engine.causal("a", apart, 3, tokens(5, 50), true, 0));

        assertVector(batch.get(0), alone.get(0));
        assertVector(batch.get(2), alone.get(1));
        assertVector(batch.get(3), alone.get(2));
        // Each chunk starts where the one before it in the batch ends, and is charged for its own tokens only.
        assertThat(batch.stream().map(Embedding::getStart)).containsExactly(3, 0, 7, 7);
        assertThat(batch.get(3).getMetrics().getFlops()).isEqualTo(TestModels.BERT.flops(5, 12));
        assertThat(batch.get(3).getMetrics().getStateBytes())
                .isEqualTo(KvCache.sizeBytes(together.layers(), together.hidden(), 12));
        assertThat(batch.get(3).getMetrics().getSequenceLength()).isEqualTo(12);
        assertThat(together.length()).isEqualTo(12);
        assertThat(batch.get(0).getMetrics().getBatchTokens()).isEqualTo(4 + 6 + 5);
    }

    @Test
    void aBatchThatFailsLeavesEveryCacheAsItWas() {
        final AttentionEngine engine = new AttentionEngine(bert, Pooling.MEAN, true, () -> 0L);
        final KvCache a = bert.newCache();
        final KvCache empty = bert.newCache();
        // An empty chunk on an empty cache has no embedding: refused before anything is computed.
        assertThatThrownBy(() -> engine.causalBatch(List.of(
                new AttentionEngine.CausalChunk("a", a, 0, tokens(4, 1), false, 0),
                new AttentionEngine.CausalChunk("e", empty, 0, new int[0], true, 0))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(a.length()).isZero();
    }

    private static void assertVector(final Embedding got, final Embedding want) {
        assertThat(got.getVector()).hasSameSizeAs(want.getVector());
        for (int i = 0; i < want.getVector().size(); i++) {
            assertThat(got.getVector().get(i)).isCloseTo(want.getVector().get(i), within(1e-5f));
        }
    }
}
