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
    void oneCacheTwiceInABatchIsRefusedAndChangesNothing() {
        final KvCache cache = model.newCache();
        final int[] a = Fixtures.tokens(7, 3, C.vocabSize());
        assertThatThrownBy(() -> model.appendCausalBatch(new KvCache[] {cache, cache}, new int[][] {a, a},
                Pooling.MEAN, true)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
        assertThat(cache.length()).isZero();
    }
}
