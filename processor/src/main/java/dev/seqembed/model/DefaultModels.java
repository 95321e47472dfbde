package dev.seqembed.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The deterministic, seeded default models of SPEC §4.3 ({@code seqembed init-models}): the same bytes on
 * every run and machine, so the demo needs no download and every replica computes the same vectors.
 *
 * <p>Randomness is {@link SplittableRandom} (a fixed, documented algorithm) with a Box-Muller transform over
 * {@link StrictMath} (bit-identical everywhere), never ND4J's RNG. The attention model uses BERT's own
 * initialisation (normal(0, 0.02), LayerNorm weight 1, biases 0). The dense model uses PyTorch's default
 * scales instead (embedding normal(0, 1), linear weights normal(0, 1/sqrt(fan_in))): with 0.02 everywhere
 * its pre-activations would be ~1e-2 and the GELU would act as a linear map.
 */
public final class DefaultModels {
    /** Default dense window model: vocab 30522, d 32, W 16, S 8, H 512, O 256, gelu, normalised, pad 0. */
    public static final WindowMlpConfig DENSE_CONFIG =
            new WindowMlpConfig(30522, 32, 16, 8, 512, 256, Activation.GELU, true, 0);
    /**
     * Default attention model: BERT with 4 layers, hidden 128, 4 heads, intermediate 512, 512 positions. The hidden
     * size is small next to the 512 positions on purpose: the n² attention term (4·n·h per token and layer) then
     * reaches two thirds of the per-token projection cost at 512 tokens, so the quadratic curve shows.
     */
    public static final BertConfig ATTENTION_CONFIG =
            new BertConfig(30522, 128, 4, 4, 512, Activation.GELU, 512, 2, 1e-12f);
    public static final String DENSE_DIR = "dense";
    public static final String ATTENTION_DIR = "attention";
    static final long DENSE_SEED = 20240917L;
    static final long ATTENTION_SEED = 20240918L;

    private DefaultModels() {
    }

    /** Writes {@code outDir/dense} and {@code outDir/attention}, each config.json + model.safetensors. */
    public static void write(final Path outDir) throws IOException {
        writeModel(outDir.resolve(DENSE_DIR), ModelFiles.configJson(DENSE_CONFIG),
                denseTensors(DENSE_CONFIG, DENSE_SEED), SafeTensors.DType.F32);
        writeModel(outDir.resolve(ATTENTION_DIR), ModelFiles.configJson(ATTENTION_CONFIG),
                bertTensors(ATTENTION_CONFIG, ATTENTION_SEED, 0.02f, ""), SafeTensors.DType.F32);
    }

    /** Writes a window model directory (also used by tests with small configs). */
    public static void writeDense(final Path dir, final WindowMlpConfig config, final long seed) throws IOException {
        writeModel(dir, ModelFiles.configJson(config), denseTensors(config, seed), SafeTensors.DType.F32);
    }

    /** Writes a BERT model directory with BERT initialisation (also used by tests with small configs). */
    public static void writeBert(final Path dir, final BertConfig config, final long seed) throws IOException {
        writeModel(dir, ModelFiles.configJson(config), bertTensors(config, seed, 0.02f, ""), SafeTensors.DType.F32);
    }

    static void writeModel(final Path dir, final JsonNode config, final Map<String, Tensor> tensors,
                           final SafeTensors.DType dtype) throws IOException {
        ModelFiles.writeJson(dir.resolve(ModelFiles.CONFIG), config);
        SafeTensors.write(dir.resolve(ModelFiles.WEIGHTS), tensors, dtype);
    }

    static void writeModel(final Path dir, final WindowMlpConfig config, final Map<String, Tensor> tensors)
            throws IOException {
        writeModel(dir, ModelFiles.configJson(config), tensors, SafeTensors.DType.F32);
    }

    static void writeModel(final Path dir, final BertConfig config, final Map<String, Tensor> tensors,
                           final SafeTensors.DType dtype) throws IOException {
        writeModel(dir, ModelFiles.configJson(config), tensors, dtype);
    }

    /** Dense window model tensors, PyTorch default scales, zero biases. */
    static Map<String, Tensor> denseTensors(final WindowMlpConfig c, final long seed) {
        final Gaussian g = new Gaussian(seed);
        final Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(DenseWindowModel.EMBEDDING, g.tensor(1.0, c.vocabSize(), c.embedDim()));
        t.put(DenseWindowModel.FC1_WEIGHT, g.tensor(1.0 / Math.sqrt(c.inputSize()), c.hiddenSize(), c.inputSize()));
        t.put(DenseWindowModel.FC1_BIAS, constant(0f, c.hiddenSize()));
        t.put(DenseWindowModel.FC2_WEIGHT, g.tensor(1.0 / Math.sqrt(c.hiddenSize()), c.outputSize(), c.hiddenSize()));
        t.put(DenseWindowModel.FC2_BIAS, constant(0f, c.outputSize()));
        return t;
    }

    /** BERT tensors: weights normal(0, std), LayerNorm weight 1 and bias 0, biases 0; names with {@code prefix}. */
    static Map<String, Tensor> bertTensors(final BertConfig c, final long seed, final float std, final String prefix) {
        final Gaussian g = new Gaussian(seed);
        final int h = c.hiddenSize();
        final int i = c.intermediateSize();
        final Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(prefix + BertTensors.WORD_EMBEDDINGS, g.tensor(std, c.vocabSize(), h));
        t.put(prefix + BertTensors.POSITION_EMBEDDINGS, g.tensor(std, c.maxPositionEmbeddings(), h));
        t.put(prefix + BertTensors.TOKEN_TYPE_EMBEDDINGS, g.tensor(std, c.typeVocabSize(), h));
        t.put(prefix + BertTensors.EMBEDDINGS_LN_WEIGHT, constant(1f, h));
        t.put(prefix + BertTensors.EMBEDDINGS_LN_BIAS, constant(0f, h));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (final String name : new String[] {BertTensors.QUERY, BertTensors.KEY, BertTensors.VALUE,
                BertTensors.ATTENTION_OUTPUT}) {
                t.put(prefix + BertTensors.layer(l, name + ".weight"), g.tensor(std, h, h));
                t.put(prefix + BertTensors.layer(l, name + ".bias"), constant(0f, h));
            }
            t.put(prefix + BertTensors.layer(l, BertTensors.ATTENTION_LN + ".weight"), constant(1f, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.ATTENTION_LN + ".bias"), constant(0f, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.INTERMEDIATE + ".weight"), g.tensor(std, i, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.INTERMEDIATE + ".bias"), constant(0f, i));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT + ".weight"), g.tensor(std, h, i));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT + ".bias"), constant(0f, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT_LN + ".weight"), constant(1f, h));
            t.put(prefix + BertTensors.layer(l, BertTensors.OUTPUT_LN + ".bias"), constant(0f, h));
        }
        return t;
    }

    static Tensor constant(final float value, final int... shape) {
        int n = 1;
        for (final int s : shape) {
            n *= s;
        }
        final float[] d = new float[n];
        java.util.Arrays.fill(d, value);
        return new Tensor(shape, d);
    }

    /** Deterministic normal deviates: SplittableRandom + Box-Muller in StrictMath. */
    static final class Gaussian {
        private final SplittableRandom random;
        private double spare;
        private boolean hasSpare;

        Gaussian(final long seed) {
            this.random = new SplittableRandom(seed);
        }

        double next() {
            if (hasSpare) {
                hasSpare = false;
                return spare;
            }
            final double u1 = 1.0 - random.nextDouble(); // (0, 1]: log is finite
            final double u2 = random.nextDouble();
            final double r = StrictMath.sqrt(-2.0 * StrictMath.log(u1));
            final double a = 2.0 * StrictMath.PI * u2;
            spare = r * StrictMath.sin(a);
            hasSpare = true;
            return r * StrictMath.cos(a);
        }

        Tensor tensor(final double std, final int... shape) {
            int n = 1;
            for (final int s : shape) {
                n *= s;
            }
            final float[] d = new float[n];
            for (int k = 0; k < n; k++) {
                d[k] = (float) (next() * std);
            }
            return new Tensor(shape, d);
        }
    }
}
