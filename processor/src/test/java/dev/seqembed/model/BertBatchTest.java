package dev.seqembed.model;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Packed forwards: several sequences stacked into one matrix must give each sequence exactly its own
 * attention (no attention across sequences, no padding), checked against the double-precision reference.
 */
class BertBatchTest {
    @TempDir
    static Path tmp;

    static final BertConfig C = Fixtures.SMALL_BERT;
    static Map<String, Tensor> weights;
    static BertModel model;

    @BeforeAll
    static void load() throws IOException {
        weights = Fixtures.bertTensors(C, 33, 0.2, "");
        model = BertModel.load(Fixtures.writeBert(tmp.resolve("small"), C, weights));
    }

    @Test
    void encodeBatchGivesEachSequenceItsOwnEmbedding() {
        final int[] lengths = {1, 17, 2, 64, 9};
        final int[][] seqs = new int[lengths.length][];
        for (int k = 0; k < lengths.length; k++) {
            seqs[k] = Fixtures.tokens(100 + k, lengths[k], C.vocabSize());
        }
        for (final Pooling pooling : Pooling.values()) {
            final float[][] batch = model.encodeBatch(seqs, pooling, true);
            assertThat(batch.length).isEqualTo(seqs.length);
            for (int k = 0; k < seqs.length; k++) {
                final double[] ref = Reference.pool(Reference.bert(weights, "", C, seqs[k], false), lengths[k],
                        pooling, true);
                Reference.assertClose(batch[k], ref, 1e-4, "sequence " + k + " " + pooling);
                final float[] single = model.encode(seqs[k], pooling, true);
                for (int j = 0; j < single.length; j++) {
                    assertThat((double) batch[k][j]).isCloseTo(single[j], org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }

    @Test
    void appendCausalBatchEqualsChunkByChunkForEachCache() {
        // three sequences at different prefix lengths (one fresh), advanced together
        final int[][] tokens = {Fixtures.tokens(1, 30, C.vocabSize()), Fixtures.tokens(2, 30, C.vocabSize()),
            Fixtures.tokens(3, 30, C.vocabSize())};
        final int[] prefix = {0, 5, 21};
        final int[] chunk = {4, 9, 1};
        final KvCache[] caches = new KvCache[3];
        final int[][] chunks = new int[3][];
        for (int k = 0; k < 3; k++) {
            caches[k] = model.newCache();
            if (prefix[k] > 0) {
                model.appendCausal(caches[k], Arrays.copyOf(tokens[k], prefix[k]), Pooling.MEAN, true);
            }
            chunks[k] = Arrays.copyOfRange(tokens[k], prefix[k], prefix[k] + chunk[k]);
        }
        final float[][] out = model.appendCausalBatch(caches, chunks, Pooling.MEAN, true);
        for (int k = 0; k < 3; k++) {
            final int n = prefix[k] + chunk[k];
            assertThat(caches[k].length()).isEqualTo(n);
            final double[] ref = Reference.pool(Reference.bert(weights, "", C, Arrays.copyOf(tokens[k], n), true), n,
                    Pooling.MEAN, true);
            Reference.assertClose(out[k], ref, 1e-4, "sequence " + k);
        }
    }

    @Test
    void chunksOfOneCacheInOneBatchEqualThemOneAfterAnother() {
        final int[] tokens = Fixtures.tokens(8, 40, C.vocabSize());
        final KvCache together = model.newCache();
        final KvCache apart = model.newCache();
        final KvCache other = model.newCache();
        model.appendCausal(together, Arrays.copyOf(tokens, 5), Pooling.MEAN, true);
        model.appendCausal(apart, Arrays.copyOf(tokens, 5), Pooling.MEAN, true);
        final int[] c1 = Arrays.copyOfRange(tokens, 5, 12);
        final int[] c2 = new int[0];
        final int[] c3 = Arrays.copyOfRange(tokens, 12, 30);
        final int[] b = Fixtures.tokens(9, 6, C.vocabSize());

        final float[][] out = model.appendCausalBatch(new KvCache[] {together, other, together, together},
                new int[][] {c1, b, c2, c3}, Pooling.MEAN, true);

        final float[][] alone = {model.appendCausal(apart, c1, Pooling.MEAN, true),
            model.appendCausal(apart, c2, Pooling.MEAN, true), model.appendCausal(apart, c3, Pooling.MEAN, true)};
        Reference.assertClose(out[0], Reference.toDouble(alone[0]), 1e-5, "after chunk 1");
        Reference.assertClose(out[2], Reference.toDouble(alone[1]), 1e-5, "after the empty chunk");
        Reference.assertClose(out[3], Reference.toDouble(alone[2]), 1e-5, "after chunk 3");
        Reference.assertClose(out[3], Reference.pool(Reference.bert(weights, "", C, Arrays.copyOf(tokens, 30), true),
                30, Pooling.MEAN, true), 1e-4, "a causal forward over the prefix");
        assertThat(together.length()).isEqualTo(30);
        assertThat(other.length()).isEqualTo(6);
        // The caches hold the same keys/values, to float rounding: the next chunk gives the same embedding.
        final int[] next = Arrays.copyOfRange(tokens, 30, 34);
        Reference.assertClose(model.appendCausal(together, next, Pooling.MEAN, true),
                Reference.toDouble(model.appendCausal(apart, next, Pooling.MEAN, true)), 1e-5, "the chunk after them");
    }

    @Test
    void anEmptyChunkWithNothingBeforeItIsRefusedAndChangesNothing() {
        final KvCache a = model.newCache();
        final KvCache empty = model.newCache();
        assertThatThrownBy(() -> model.appendCausalBatch(new KvCache[] {a, empty},
                new int[][] {Fixtures.tokens(7, 3, C.vocabSize()), new int[0]}, Pooling.MEAN, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(BertModel.EMPTY_CACHE);
        assertThat(a.length()).isZero();
    }
}
