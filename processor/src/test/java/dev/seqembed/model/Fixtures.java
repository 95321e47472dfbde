package dev.seqembed.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Small random models for tests, with non-trivial biases and LayerNorm parameters. */
final class Fixtures {
    private Fixtures() {
    }

    static final BertConfig SMALL_BERT = new BertConfig(97, 32, 2, 4, 64, Activation.GELU, 64, 2, 1e-12f);

    static Tensor random(final SplittableRandom rnd, final double mean, final double std, final int... shape) {
        int n = 1;
        for (final int s : shape) {
            n *= s;
        }
        final float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            // sum of uniforms: cheap, deterministic, roughly normal
            final double u = rnd.nextDouble() + rnd.nextDouble() + rnd.nextDouble() - 1.5;
            d[i] = (float) (mean + std * 2.0 * u);
        }
        return new Tensor(shape, d);
    }

    /** BERT tensors with random weights (std), biases (0.05) and LayerNorm gamma (1 +- 0.1) / beta (0.05). */
    static Map<String, Tensor> bertTensors(final BertConfig c, final long seed, final double std, final String prefix) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final int h = c.hiddenSize();
        final int i = c.intermediateSize();
        final Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(prefix + BertTensors.WORD_EMBEDDINGS, random(rnd, 0, 0.5, c.vocabSize(), h));
        t.put(prefix + BertTensors.POSITION_EMBEDDINGS, random(rnd, 0, 0.2, c.maxPositionEmbeddings(), h));
        t.put(prefix + BertTensors.TOKEN_TYPE_EMBEDDINGS, random(rnd, 0, 0.2, c.typeVocabSize(), h));
        t.put(prefix + BertTensors.EMBEDDINGS_LN_WEIGHT, random(rnd, 1, 0.1, h));
        t.put(prefix + BertTensors.EMBEDDINGS_LN_BIAS, random(rnd, 0, 0.05, h));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (final String name : new String[] {BertTensors.QUERY, BertTensors.KEY, BertTensors.VALUE,
                BertTensors.ATTENTION_OUTPUT}) {
                t.put(prefix + BertTensors.layer(l, name + ".weight"), random(rnd, 0, std, h, h));
                t.put(prefix + BertTensors.layer(l, name + ".bias"), random(rnd, 0, 0.05, h));
            }
            t.put(prefix + BertTensors.layer(l, BertTensors.ATTENTION_LN + ".weight"), random(rnd, 1, 0.1, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.ATTENTION_LN + ".bias"), random(rnd, 0, 0.05, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.INTERMEDIATE + ".weight"), random(rnd, 0, std, i, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.INTERMEDIATE + ".bias"), random(rnd, 0, 0.05, i));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT + ".weight"), random(rnd, 0, std, h, i));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT + ".bias"), random(rnd, 0, 0.05, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT_LN + ".weight"), random(rnd, 1, 0.1, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT_LN + ".bias"), random(rnd, 0, 0.05, h));
        }
        return t;
    }

    static Map<String, Tensor> denseTensors(final WindowMlpConfig c, final long seed) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("embedding.weight", random(rnd, 0, 1.0, c.vocabSize(), c.embedDim()));
        t.put("fc1.weight", random(rnd, 0, 1.0 / Math.sqrt(c.inputSize()), c.hiddenSize(), c.inputSize()));
        t.put("fc1.bias", random(rnd, 0, 0.1, c.hiddenSize()));
        t.put("fc2.weight", random(rnd, 0, 1.0 / Math.sqrt(c.hiddenSize()), c.outputSize(), c.hiddenSize()));
        t.put("fc2.bias", random(rnd, 0, 0.1, c.outputSize()));
        return t;
    }

    static Path writeBert(final Path dir, final BertConfig c, final Map<String, Tensor> t) throws IOException {
        DefaultModels.writeModel(dir, c, t, SafeTensors.DType.F32);
        return dir;
    }

    static Path writeDense(final Path dir, final WindowMlpConfig c, final Map<String, Tensor> t) throws IOException {
        DefaultModels.writeModel(dir, c, t);
        return dir;
    }

    static int[] tokens(final long seed, final int n, final int vocab) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }
}
