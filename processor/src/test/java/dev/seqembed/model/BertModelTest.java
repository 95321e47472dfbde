package dev.seqembed.model;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BertModelTest {
    @TempDir
    static Path tmp;

    static final BertConfig C = Fixtures.SMALL_BERT;
    static Map<String, Tensor> weights;
    static BertModel model;

    @BeforeAll
    static void load() throws IOException {
        weights = Fixtures.bertTensors(C, 21, 0.2, "");
        model = BertModel.load(Fixtures.writeBert(tmp.resolve("small"), C, weights));
    }

    @Test
    void hiddenStatesMatchReferenceBidirectionalAndCausal() {
        final int[] tokens = Fixtures.tokens(1, 23, C.vocabSize());
        Reference.assertClose(model.hiddenStates(tokens, false), Reference.bert(weights, "", C, tokens, false),
                1e-4, "encoder");
        Reference.assertClose(model.hiddenStates(tokens, true), Reference.bert(weights, "", C, tokens, true),
                1e-4, "causal");
    }

    @Test
    void encodeMatchesReferenceForEveryPoolingAndNormalisation() {
        for (final int n : new int[] {1, 2, 17, 64}) {
            final int[] tokens = Fixtures.tokens(n, n, C.vocabSize());
            final double[][] ref = Reference.bert(weights, "", C, tokens, false);
            for (final Pooling pooling : Pooling.values()) {
                for (final boolean normalize : new boolean[] {true, false}) {
                    final float[] v = model.encode(tokens, pooling, normalize);
                    Reference.assertClose(v, Reference.pool(ref, n, pooling, normalize), 1e-4,
                            "n=" + n + " " + pooling + " normalize=" + normalize);
                }
            }
        }
    }

    @Test
    void appendCausalEqualsFullCausalForwardOverEachPrefix() {
        final int[] chunks = {3, 1, 5, 2, 8, 1, 1, 13};
        int total = 0;
        for (final int k : chunks) {
            total += k;
        }
        final int[] tokens = Fixtures.tokens(5, total, C.vocabSize());
        for (final Pooling pooling : Pooling.values()) {
            for (final boolean normalize : new boolean[] {true, false}) {
                final KvCache cache = model.newCache();
                int at = 0;
                for (final int k : chunks) {
                    final int[] chunk = java.util.Arrays.copyOfRange(tokens, at, at + k);
                    final float[] v = model.appendCausal(cache, chunk, pooling, normalize);
                    at += k;
                    assertThat(cache.length()).isEqualTo(at);
                    final int[] prefix = java.util.Arrays.copyOf(tokens, at);
                    final double[] ref = Reference.pool(Reference.bert(weights, "", C, prefix, true), at, pooling,
                            normalize);
                    Reference.assertClose(v, ref, 1e-4, "prefix " + at + " " + pooling + " normalize=" + normalize);
                }
                assertThat(cache.sizeBytes()).isEqualTo(cache.toBytes().length)
                        .isEqualTo(20L + 4L * (2L * C.numHiddenLayers() * total * C.hiddenSize() + 2L * C.hiddenSize()));
            }
        }
    }

    @Test
    void restoredCacheContinuesIdentically() {
        final int[] tokens = Fixtures.tokens(8, 20, C.vocabSize());
        final KvCache cache = model.newCache();
        model.appendCausal(cache, java.util.Arrays.copyOfRange(tokens, 0, 7), Pooling.MEAN, true);
        model.appendCausal(cache, java.util.Arrays.copyOfRange(tokens, 7, 9), Pooling.MEAN, true);
        final byte[] bytes = cache.toBytes();
        final KvCache restored = KvCache.fromBytes(bytes);
        assertThat(restored.length()).isEqualTo(9);
        assertThat(restored.toBytes()).isEqualTo(bytes);
        final int[] next = java.util.Arrays.copyOfRange(tokens, 9, 20);
        final float[] a = model.appendCausal(cache, next, Pooling.MEAN, true);
        final float[] b = model.appendCausal(restored, next, Pooling.MEAN, true);
        assertThat(b).containsExactly(a);
        assertThat(restored.toBytes()).isEqualTo(cache.toBytes());
        // and the first-token state survived too
        final KvCache again = KvCache.fromBytes(bytes);
        final KvCache again2 = KvCache.fromBytes(bytes);
        assertThat(model.appendCausal(again, next, Pooling.CLS, false))
                .containsExactly(model.appendCausal(again2, next, Pooling.CLS, false));
        Reference.assertClose(model.appendCausal(KvCache.fromBytes(bytes), next, Pooling.CLS, false),
                Reference.pool(Reference.bert(weights, "", C, tokens, true), 20, Pooling.CLS, false), 1e-4, "cls");
    }

    @Test
    void aCacheBuiltByAnotherModelOfTheSameShapeIsRefused() throws IOException {
        final BertModel other = BertModel.load(Fixtures.writeBert(tmp.resolve("other"), C,
                Fixtures.bertTensors(C, 22, 0.2, "")));
        final KvCache cache = other.newCache();
        other.appendCausal(cache, Fixtures.tokens(3, 4, C.vocabSize()), Pooling.MEAN, true);
        assertThat(cache.modelSha256()).isEqualTo(other.sha256()).isNotEqualTo(model.sha256());
        assertThatThrownBy(() -> model.appendCausal(cache, Fixtures.tokens(4, 2, C.vocabSize()), Pooling.MEAN, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(other.sha256());
        assertThat(cache.length()).isEqualTo(4);
    }

    @Test
    void causalTokenByTokenEqualsOneChunk() {
        final int[] tokens = Fixtures.tokens(9, 12, C.vocabSize());
        final KvCache one = model.newCache();
        final float[] whole = model.appendCausal(one, tokens, Pooling.MEAN, false);
        final KvCache steps = model.newCache();
        float[] last = null;
        for (final int t : tokens) {
            last = model.appendCausal(steps, new int[] {t}, Pooling.MEAN, false);
        }
        Reference.assertClose(last, Reference.toDouble(whole), 1e-5, "token by token");
    }

    @Test
    void rejectsBadInputWithoutTouchingTheCache() {
        final KvCache cache = model.newCache();
        model.appendCausal(cache, new int[] {1, 2, 3}, Pooling.MEAN, true);
        final byte[] before = cache.toBytes();
        assertThatThrownBy(() -> model.appendCausal(cache, new int[] {4, C.vocabSize()}, Pooling.MEAN, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token id " + C.vocabSize());
        assertThatThrownBy(() -> model.appendCausal(cache, new int[C.maxPositionEmbeddings() - 2], Pooling.MEAN, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_position_embeddings");
        assertThatThrownBy(() -> model.encode(new int[0], Pooling.MEAN, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> model.encode(new int[C.maxPositionEmbeddings() + 1], Pooling.MEAN, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_position_embeddings");
        assertThat(cache.toBytes()).isEqualTo(before);
        assertThatThrownBy(() -> model.appendCausal(new KvCache(3, C.hiddenSize()), new int[] {1}, Pooling.MEAN, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 layers");
    }

    @Test
    void concurrentCallsGiveTheSameResults() throws Exception {
        final int[] tokens = Fixtures.tokens(3, 40, C.vocabSize());
        final float[] expected = model.encode(tokens, Pooling.MEAN, true);
        final java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            final java.util.List<java.util.concurrent.Future<float[]>> futures = new java.util.ArrayList<>();
            final java.util.List<java.util.concurrent.Future<float[]>> causal = new java.util.ArrayList<>();
            final KvCache reference = model.newCache();
            model.appendCausal(reference, java.util.Arrays.copyOf(tokens, 25), Pooling.MEAN, true);
            final float[] expectedCausal = model.appendCausal(reference, java.util.Arrays.copyOfRange(tokens, 25, 40),
                    Pooling.MEAN, true);
            for (int i = 0; i < 16; i++) {
                futures.add(pool.submit(() -> model.encode(tokens, Pooling.MEAN, true)));
                causal.add(pool.submit(() -> {
                    final KvCache own = model.newCache(); // one cache per sequence, as in the stream
                    model.appendCausal(own, java.util.Arrays.copyOf(tokens, 25), Pooling.MEAN, true);
                    return model.appendCausal(own, java.util.Arrays.copyOfRange(tokens, 25, 40), Pooling.MEAN, true);
                }));
            }
            for (final java.util.concurrent.Future<float[]> f : futures) {
                Reference.assertClose(f.get(), Reference.toDouble(expected), 1e-6, "concurrent");
            }
            for (final java.util.concurrent.Future<float[]> f : causal) {
                Reference.assertClose(f.get(), Reference.toDouble(expectedCausal), 1e-6, "concurrent causal");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
