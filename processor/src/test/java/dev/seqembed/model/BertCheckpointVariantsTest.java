package dev.seqembed.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Prefixed checkpoints, pooler and unknown tensors, half-precision files, extreme numerics. */
class BertCheckpointVariantsTest {
    @TempDir
    Path tmp;

    private static final BertConfig C = Fixtures.SMALL_BERT;

    @Test
    void prefixedCheckpointWithPoolerAndExtrasLoadsAndAgrees() throws IOException {
        final Map<String, Tensor> plain = Fixtures.bertTensors(C, 31, 0.2, "");
        final Map<String, Tensor> prefixed = new LinkedHashMap<>();
        plain.forEach((k, v) -> prefixed.put("bert." + k, v));
        prefixed.put("bert.pooler.dense.weight", Fixtures.random(new java.util.SplittableRandom(1), 0, 1, 32, 32));
        prefixed.put("bert.pooler.dense.bias", new Tensor(new int[] {32}, new float[32]));
        prefixed.put("cls.predictions.bias", new Tensor(new int[] {C.vocabSize()}, new float[C.vocabSize()]));
        final Map<String, Tensor> plainWithPooler = new LinkedHashMap<>(plain);
        plainWithPooler.put("pooler.dense.weight", new Tensor(new int[] {5}, new float[5])); // even a wrong shape
        final BertModel a = BertModel.load(Fixtures.writeBert(tmp.resolve("plain"), C, plainWithPooler));
        final BertModel b = BertModel.load(Fixtures.writeBert(tmp.resolve("prefixed"), C, prefixed));
        final int[] tokens = Fixtures.tokens(4, 19, C.vocabSize());
        final float[] va = a.encode(tokens, Pooling.MEAN, true);
        assertThat(b.encode(tokens, Pooling.MEAN, true)).containsExactly(va);
        Reference.assertClose(va, Reference.pool(Reference.bert(plain, "", C, tokens, false), 19, Pooling.MEAN, true),
                1e-4, "plain");
        assertThat(a.sha256()).isNotEqualTo(b.sha256());
    }

    @Test
    void integerPositionIdsBufferAsInOlderHuggingFaceExportsIsIgnored() throws IOException {
        final Map<String, Tensor> w = Fixtures.bertTensors(C, 36, 0.2, "");
        final int maxPos = C.maxPositionEmbeddings();
        final Map<String, Tensor> withIds = new LinkedHashMap<>(w);
        // written as F32 [2, maxPos], then relabelled I64 [1, maxPos]: the same byte count
        withIds.put("embeddings.position_ids", new Tensor(new int[] {2, maxPos}, new float[2 * maxPos]));
        final Path dir = Fixtures.writeBert(tmp.resolve("ids"), C, withIds);
        final Path file = dir.resolve("model.safetensors");
        final String latin = new String(java.nio.file.Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1);
        final String from = "\"embeddings.position_ids\":{\"dtype\":\"F32\",\"shape\":[2," + maxPos + "]";
        final String to = "\"embeddings.position_ids\":{\"dtype\":\"I64\",\"shape\":[1," + maxPos + "]";
        assertThat(latin).contains(from);
        java.nio.file.Files.write(file, latin.replace(from, to).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThat(SafeTensors.read(file).unsupportedDtype("embeddings.position_ids")).isEqualTo("I64");
        final BertModel m = BertModel.load(dir);
        final int[] tokens = Fixtures.tokens(10, 9, C.vocabSize());
        Reference.assertClose(m.encode(tokens, Pooling.CLS, true),
                Reference.pool(Reference.bert(w, "", C, tokens, false), 9, Pooling.CLS, true), 1e-4, "with ids");
    }

    @Test
    void halfAndBfloat16CheckpointsLoadAndMatchTheRoundedReference() throws IOException {
        final Map<String, Tensor> w = Fixtures.bertTensors(C, 32, 0.2, "");
        final int[] tokens = Fixtures.tokens(6, 21, C.vocabSize());
        for (final SafeTensors.DType dtype : new SafeTensors.DType[] {SafeTensors.DType.F16, SafeTensors.DType.BF16}) {
            final Path dir = tmp.resolve(dtype.name());
            DefaultModels.writeModel(dir, C, w, dtype);
            final Map<String, Tensor> rounded = new LinkedHashMap<>();
            w.forEach((k, v) -> {
                final float[] d = v.data().clone();
                for (int i = 0; i < d.length; i++) {
                    d[i] = SafeTensors.roundTo(d[i], dtype);
                }
                rounded.put(k, new Tensor(v.shape(), d));
            });
            final BertModel m = BertModel.load(dir);
            final double[][] ref = Reference.bert(rounded, "", C, tokens, false);
            Reference.assertClose(m.hiddenStates(tokens, false), ref, 1e-4, dtype.name());
            // and the rounding is real: the F32 reference differs by more than the tolerance somewhere
            final double[][] full = Reference.bert(w, "", C, tokens, false);
            double maxDiff = 0;
            for (int r = 0; r < ref.length; r++) {
                for (int j = 0; j < ref[r].length; j++) {
                    maxDiff = Math.max(maxDiff, Math.abs(ref[r][j] - full[r][j]));
                }
            }
            assertThat(maxDiff).as(dtype + " rounding effect").isGreaterThan(1e-3);
        }
    }

    @Test
    void extremeLogitsStayFiniteAndMatchReference() throws IOException {
        final Map<String, Tensor> w = Fixtures.bertTensors(C, 33, 0.2, "");
        // query/key weights scaled so attention logits reach ~1e4
        for (int l = 0; l < C.numHiddenLayers(); l++) {
            for (final String n : new String[] {BertTensors.QUERY, BertTensors.KEY}) {
                final String name = BertTensors.layer(l, n + ".weight");
                final float[] d = w.get(name).data().clone();
                for (int i = 0; i < d.length; i++) {
                    d[i] *= 60f;
                }
                w.put(name, new Tensor(w.get(name).shape(), d));
            }
        }
        final BertModel m = BertModel.load(Fixtures.writeBert(tmp.resolve("hot"), C, w));
        final int[] tokens = Fixtures.tokens(7, 40, C.vocabSize());
        final double maxLogit = maxLogit(w, tokens);
        assertThat(maxLogit).as("test premise: huge logits").isGreaterThan(5e3);
        // Softmax is then one-hot almost everywhere; float32 logits carry ~1e-3 absolute error, so near-ties
        // can move a few weights by ~1e-4: a looser tolerance here, the point is stability.
        for (final boolean causal : new boolean[] {false, true}) {
            Reference.assertClose(m.hiddenStates(tokens, causal), Reference.bert(w, "", C, tokens, causal), 1e-3,
                    "causal=" + causal);
        }
        final KvCache cache = m.newCache();
        m.appendCausal(cache, java.util.Arrays.copyOf(tokens, 30), Pooling.MEAN, true);
        final float[] v = m.appendCausal(cache, java.util.Arrays.copyOfRange(tokens, 30, 40), Pooling.MEAN, true);
        Reference.assertClose(v, Reference.pool(Reference.bert(w, "", C, tokens, true), 40, Pooling.MEAN, true), 1e-3,
                "causal cached");
    }

    /** Largest |q.k|/sqrt(dh) of layer 0 in the reference, to check the test premise. */
    private static double maxLogit(final Map<String, Tensor> w, final int[] tokens) {
        final int h = C.hiddenSize();
        final double[][] x = new double[tokens.length][h];
        for (int r = 0; r < tokens.length; r++) {
            for (int j = 0; j < h; j++) {
                x[r][j] = w.get(BertTensors.WORD_EMBEDDINGS).data()[tokens[r] * h + j]
                        + w.get(BertTensors.POSITION_EMBEDDINGS).data()[r * h + j]
                        + w.get(BertTensors.TOKEN_TYPE_EMBEDDINGS).data()[j];
            }
        }
        final double[][] xn = Reference.layerNorm(x, w.get(BertTensors.EMBEDDINGS_LN_WEIGHT),
                w.get(BertTensors.EMBEDDINGS_LN_BIAS), 1e-12);
        final double[][] q = Reference.linear(xn, w.get(BertTensors.layer(0, "attention.self.query.weight")),
                w.get(BertTensors.layer(0, "attention.self.query.bias")));
        final double[][] k = Reference.linear(xn, w.get(BertTensors.layer(0, "attention.self.key.weight")),
                w.get(BertTensors.layer(0, "attention.self.key.bias")));
        final int dh = C.headSize();
        double max = 0;
        for (final double[] qr : q) {
            for (final double[] kr : k) {
                for (int hd = 0; hd < C.numAttentionHeads(); hd++) {
                    double s = 0;
                    for (int e = 0; e < dh; e++) {
                        s += qr[hd * dh + e] * kr[hd * dh + e];
                    }
                    max = Math.max(max, Math.abs(s) / Math.sqrt(dh));
                }
            }
        }
        return max;
    }

    @Test
    void fullLengthSequenceOnATinyModel() throws IOException {
        final BertConfig tiny = new BertConfig(50, 8, 2, 2, 16, Activation.GELU, 512, 1, 1e-5f);
        final Map<String, Tensor> w = Fixtures.bertTensors(tiny, 34, 0.3, "");
        final BertModel m = BertModel.load(Fixtures.writeBert(tmp.resolve("tiny"), tiny, w));
        final int[] tokens = Fixtures.tokens(8, 512, tiny.vocabSize());
        final double[][] enc = Reference.bert(w, "", tiny, tokens, false);
        Reference.assertClose(m.hiddenStates(tokens, false), enc, 1e-4, "encoder 512");
        Reference.assertClose(m.encode(tokens, Pooling.MEAN, true), Reference.pool(enc, 512, Pooling.MEAN, true), 1e-4,
                "pooled 512");
        final double[][] causal = Reference.bert(w, "", tiny, tokens, true);
        final KvCache cache = m.newCache();
        m.appendCausal(cache, java.util.Arrays.copyOf(tokens, 500), Pooling.MEAN, false);
        final float[] v = m.appendCausal(cache, java.util.Arrays.copyOfRange(tokens, 500, 512), Pooling.MEAN, false);
        Reference.assertClose(v, Reference.pool(causal, 512, Pooling.MEAN, false), 1e-4, "causal 512");
    }

    @Test
    void reluAndTanhActivations() throws IOException {
        for (final Activation act : new Activation[] {Activation.RELU, Activation.TANH}) {
            final BertConfig c = new BertConfig(30, 16, 1, 2, 24, act, 16, 2, 1e-6f);
            final Map<String, Tensor> w = Fixtures.bertTensors(c, 35, 0.3, "");
            final BertModel m = BertModel.load(Fixtures.writeBert(tmp.resolve(act.name()), c, w));
            final int[] tokens = Fixtures.tokens(9, 16, c.vocabSize());
            Reference.assertClose(m.hiddenStates(tokens, false), Reference.bert(w, "", c, tokens, false), 1e-4,
                    act.name());
        }
    }
}
