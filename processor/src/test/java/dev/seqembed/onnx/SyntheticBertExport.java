package dev.seqembed.onnx;

import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertTensors;
import dev.seqembed.model.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small BERT graph shaped like PyTorch's ONNX export of a Hugging Face model (what {@code torch.onnx.export}
 * writes for all-MiniLM-L6-v2): named embeddings, biases and LayerNorm parameters; each nn.Linear as
 * {@code Add(<module>.bias, MatMul(x, onnx::MatMul_N))} with the weight transposed and anonymous; attention
 * reshapes to {@code Concat(batch, seq, heads, head_size)}; exact GELU through Erf; an int64 position_ids buffer.
 * Variants cover the other forms an export may take and the broken graphs the importer must refuse.
 */
final class SyntheticBertExport {
    /** How to write the graph. */
    record Variant(String prefix, boolean fusedLayerNorm, float epsilon, boolean constantReshape, boolean reshape,
                   String activation, String breakBiasOf) {
        /** Like the real export: decomposed LayerNorm with {@code epsilon}, dynamic reshape shapes, Erf GELU. */
        static Variant torchExport(final float epsilon) {
            return new Variant("", false, epsilon, false, true, "erf", null);
        }

        Variant withFusedLayerNorm() {
            return new Variant(prefix, true, epsilon, constantReshape, reshape, activation, breakBiasOf);
        }

        Variant withPrefix(final String p) {
            return new Variant(p, fusedLayerNorm, epsilon, constantReshape, reshape, activation, breakBiasOf);
        }

        Variant withConstantReshape() {
            return new Variant(prefix, fusedLayerNorm, epsilon, true, reshape, activation, breakBiasOf);
        }

        Variant withoutReshape() {
            return new Variant(prefix, fusedLayerNorm, epsilon, constantReshape, false, activation, breakBiasOf);
        }

        /** "erf", "gelu-op", "tanh-approx" (gelu_new) or "relu". */
        Variant withActivation(final String a) {
            return new Variant(prefix, fusedLayerNorm, epsilon, constantReshape, reshape, a, breakBiasOf);
        }

        /** Renames {@code module}'s bias in layer 0 so that its MatMul weight cannot be named. */
        Variant withBrokenBias(final String module) {
            return new Variant(prefix, fusedLayerNorm, epsilon, constantReshape, reshape, activation, module);
        }
    }

    private static final String[] PROJECTIONS = {BertTensors.QUERY, BertTensors.KEY, BertTensors.VALUE};

    private final BertConfig config;
    private final Variant variant;
    private final Map<String, Tensor> tensors;
    private final OnnxModelWriter w = new OnnxModelWriter();
    private int anonymous = 700;
    private int ids;

    private SyntheticBertExport(final BertConfig config, final Variant variant, final long seed) {
        this.config = config;
        this.variant = variant;
        this.tensors = huggingFaceTensors(config, seed);
    }

    /** The Hugging Face tensors (without prefix, weights [out, in]) and the ONNX bytes of their export. */
    record Export(Map<String, Tensor> tensors, byte[] onnx) {
    }

    static Export write(final BertConfig config, final Variant variant, final long seed) {
        final SyntheticBertExport e = new SyntheticBertExport(config, variant, seed);
        return new Export(e.tensors, e.build());
    }

    static Map<String, Tensor> huggingFaceTensors(final BertConfig c, final long seed) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final int h = c.hiddenSize();
        final int i = c.intermediateSize();
        final Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(BertTensors.WORD_EMBEDDINGS, random(rnd, c.vocabSize(), h));
        t.put(BertTensors.POSITION_EMBEDDINGS, random(rnd, c.maxPositionEmbeddings(), h));
        t.put(BertTensors.TOKEN_TYPE_EMBEDDINGS, random(rnd, c.typeVocabSize(), h));
        t.put(BertTensors.EMBEDDINGS_LN_WEIGHT, random(rnd, h));
        t.put(BertTensors.EMBEDDINGS_LN_BIAS, random(rnd, h));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (final String m : new String[] {BertTensors.QUERY, BertTensors.KEY, BertTensors.VALUE,
                BertTensors.ATTENTION_OUTPUT}) {
                t.put(BertTensors.layer(l, m + ".weight"), random(rnd, h, h));
                t.put(BertTensors.layer(l, m + ".bias"), random(rnd, h));
            }
            t.put(BertTensors.layer(l, BertTensors.ATTENTION_LN + ".weight"), random(rnd, h));
            t.put(BertTensors.layer(l, BertTensors.ATTENTION_LN + ".bias"), random(rnd, h));
            t.put(BertTensors.layer(l, BertTensors.INTERMEDIATE + ".weight"), random(rnd, i, h));
            t.put(BertTensors.layer(l, BertTensors.INTERMEDIATE + ".bias"), random(rnd, i));
            t.put(BertTensors.layer(l, BertTensors.OUTPUT + ".weight"), random(rnd, h, i));
            t.put(BertTensors.layer(l, BertTensors.OUTPUT + ".bias"), random(rnd, h));
            t.put(BertTensors.layer(l, BertTensors.OUTPUT_LN + ".weight"), random(rnd, h));
            t.put(BertTensors.layer(l, BertTensors.OUTPUT_LN + ".bias"), random(rnd, h));
        }
        return t;
    }

    private static Tensor random(final SplittableRandom rnd, final int... shape) {
        int n = 1;
        for (final int s : shape) {
            n *= s;
        }
        final float[] d = new float[n];
        for (int k = 0; k < n; k++) {
            d[k] = (float) (rnd.nextDouble() - 0.5);
        }
        return new Tensor(shape, d);
    }

    private String named(final String hfName) {
        final String name = variant.prefix() + hfName;
        // alternate raw_data and float_data, as different exporters do
        w.initializer(name, tensors.get(hfName), (ids++ & 1) == 0);
        return name;
    }

    private byte[] build() {
        final int h = config.hiddenSize();
        w.input("input_ids").input("attention_mask").input("token_type_ids").output("last_hidden_state");
        final long[] positions = new long[config.maxPositionEmbeddings()];
        for (int p = 0; p < positions.length; p++) {
            positions[p] = p;
        }
        w.int64Initializer(variant.prefix() + "embeddings.position_ids", new long[] {1, positions.length}, positions);
        final String word = w.node("Gather", "/embeddings/word_embeddings/Gather",
                List.of(named(BertTensors.WORD_EMBEDDINGS), "input_ids"));
        final String type = w.node("Gather", "/embeddings/token_type_embeddings/Gather",
                List.of(named(BertTensors.TOKEN_TYPE_EMBEDDINGS), "token_type_ids"));
        final String sum = w.node("Add", "/embeddings/Add", List.of(word, type));
        final String pos = w.node("Gather", "/embeddings/position_embeddings/Gather",
                List.of(named(BertTensors.POSITION_EMBEDDINGS), variant.prefix() + "embeddings.position_ids"));
        String x = layerNorm("/embeddings/LayerNorm", w.node("Add", "/embeddings/Add_1", List.of(sum, pos)),
                "embeddings.LayerNorm");
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            final String p = "/encoder/layer." + l;
            final String[] heads = new String[3];
            for (int k = 0; k < 3; k++) {
                final String proj = linear(p + "/" + PROJECTIONS[k].replace('.', '/'), x, l, PROJECTIONS[k]);
                heads[k] = variant.reshape() ? w.node("Reshape", p + "/attention/self/Reshape_" + k,
                        List.of(proj, headShape(p + "/attention/self/" + k, proj))) : proj;
            }
            final String scores = w.node("MatMul", p + "/attention/self/MatMul", List.of(heads[0], heads[1]));
            final String scaled = w.node("Div", p + "/attention/self/Div",
                    List.of(scores, w.floatConstant((float) Math.sqrt(config.headSize()))));
            final String probs = w.node("Softmax", p + "/attention/self/Softmax", List.of(scaled),
                    OnnxModelWriter.intAttribute("axis", 3));
            final String ctx4 = w.node("MatMul", p + "/attention/self/MatMul_1", List.of(probs, heads[2]));
            final String ctx = variant.reshape() ? w.node("Reshape", p + "/attention/self/Reshape_3",
                    List.of(ctx4, w.int64Constant(0, 0, h))) : ctx4;
            final String attnOut = linear(p + "/attention/output/dense", ctx, l, BertTensors.ATTENTION_OUTPUT);
            final String a = layerNorm(p + "/attention/output/LayerNorm",
                    w.node("Add", p + "/attention/output/Add", List.of(attnOut, x)), BertTensors.layer(l,
                            BertTensors.ATTENTION_LN));
            final String mid = activation(p + "/intermediate/intermediate_act_fn",
                    linear(p + "/intermediate/dense", a, l, BertTensors.INTERMEDIATE));
            final String out = linear(p + "/output/dense", mid, l, BertTensors.OUTPUT);
            x = layerNorm(p + "/output/LayerNorm", w.node("Add", p + "/output/Add", List.of(out, a)),
                    BertTensors.layer(l, BertTensors.OUTPUT_LN));
        }
        w.node("Identity", "last_hidden_state_identity", List.of(x));
        return w.build();
    }

    /** Add(bias, MatMul(x, onnx::MatMul_N)) with the weight transposed to [in, out]. */
    private String linear(final String node, final String x, final int layer, final String module) {
        final Tensor weight = tensors.get(BertTensors.layer(layer, module + ".weight"));
        final int out = weight.shape()[0];
        final int in = weight.shape()[1];
        final float[] t = new float[weight.size()];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                t[i * out + o] = weight.data()[o * in + i];
            }
        }
        final String anon = "onnx::MatMul_" + anonymous++;
        w.initializer(anon, new Tensor(new int[] {in, out}, t), true);
        final String mm = w.node("MatMul", node + "/MatMul", List.of(x, anon));
        final String biasName = BertTensors.layer(layer, module + ".bias");
        final String bias;
        if (layer == 0 && module.equals(variant.breakBiasOf())) {
            // an exporter that gave the bias another name: the weight's name cannot be derived from it
            bias = variant.prefix() + BertTensors.layer(layer, module + ".b");
            w.initializer(bias, tensors.get(biasName), true);
        } else {
            bias = named(biasName);
        }
        return w.node("Add", node + "/Add", List.of(bias, mm));
    }

    /** Concat(Unsqueeze(batch), Unsqueeze(seq), [heads], [head_size]) like a dynamic-axes export, or a constant. */
    private String headShape(final String node, final String x) {
        if (variant.constantReshape()) {
            final String name = node + "/shape";
            w.int64Initializer(name, new long[] {4}, 1, -1, config.numAttentionHeads(), config.headSize());
            return name;
        }
        final String shape = w.node("Shape", node + "/Shape", List.of(x));
        final String batch = w.node("Unsqueeze", node + "/Unsqueeze", List.of(w.node("Gather", node + "/Gather",
                List.of(shape, w.int64Constant(0)))), OnnxModelWriter.intsAttribute("axes", 0));
        final String seq = w.node("Unsqueeze", node + "/Unsqueeze_1", List.of(w.node("Gather", node + "/Gather_1",
                List.of(shape, w.int64Constant(1)))), OnnxModelWriter.intsAttribute("axes", 0));
        return w.node("Concat", node + "/Concat", List.of(batch, seq, w.int64Constant(config.numAttentionHeads()),
                w.int64Constant(config.headSize())), OnnxModelWriter.intAttribute("axis", 0));
    }

    private String layerNorm(final String node, final String x, final String module) {
        final String weight = named(module + ".weight");
        final String bias = named(module + ".bias");
        if (variant.fusedLayerNorm()) {
            return w.node("LayerNormalization", node + "/LayerNormalization", List.of(x, weight, bias),
                    OnnxModelWriter.intAttribute("axis", -1),
                    OnnxModelWriter.floatAttribute("epsilon", variant.epsilon()));
        }
        final String mean = w.node("ReduceMean", node + "/ReduceMean", List.of(x),
                OnnxModelWriter.intsAttribute("axes", -1));
        final String d = w.node("Sub", node + "/Sub", List.of(x, mean));
        final String sq = w.node("Pow", node + "/Pow", List.of(d, w.floatConstant(2f)));
        final String var = w.node("ReduceMean", node + "/ReduceMean_1", List.of(sq),
                OnnxModelWriter.intsAttribute("axes", -1));
        final String plus = w.node("Add", node + "/Add", List.of(var, w.floatConstant(variant.epsilon())));
        final String n = w.node("Div", node + "/Div", List.of(d, w.node("Sqrt", node + "/Sqrt", List.of(plus))));
        return w.node("Add", node + "/Add_1", List.of(w.node("Mul", node + "/Mul", List.of(n, weight)), bias));
    }

    private String activation(final String node, final String x) {
        switch (variant.activation()) {
            case "erf" -> {
                final String erf = w.node("Erf", node + "/Erf", List.of(w.node("Div", node + "/Div",
                        List.of(x, w.floatConstant((float) Math.sqrt(2))))));
                final String onePlus = w.node("Add", node + "/Add", List.of(erf, w.floatConstant(1f)));
                return w.node("Mul", node + "/Mul_1", List.of(w.node("Mul", node + "/Mul", List.of(x, onePlus)),
                        w.floatConstant(0.5f)));
            }
            case "gelu-op" -> {
                return w.node("Gelu", node + "/Gelu", List.of(x));
            }
            case "relu" -> {
                return w.node("Relu", node + "/Relu", List.of(x));
            }
            case "tanh-approx" -> {
                final String cube = w.node("Pow", node + "/Pow", List.of(x, w.floatConstant(3f)));
                final String inner = w.node("Add", node + "/Add", List.of(x,
                        w.node("Mul", node + "/Mul", List.of(cube, w.floatConstant(0.044715f)))));
                final String t = w.node("Tanh", node + "/Tanh", List.of(w.node("Mul", node + "/Mul_1",
                        List.of(inner, w.floatConstant(0.7978846f)))));
                final String onePlus = w.node("Add", node + "/Add_1", List.of(t, w.floatConstant(1f)));
                return w.node("Mul", node + "/Mul_3", List.of(w.node("Mul", node + "/Mul_2",
                        List.of(x, onePlus)), w.floatConstant(0.5f)));
            }
            default -> throw new IllegalArgumentException(variant.activation());
        }
    }
}
