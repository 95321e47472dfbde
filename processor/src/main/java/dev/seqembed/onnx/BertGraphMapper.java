package dev.seqembed.onnx;

import dev.seqembed.model.Activation;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertTensors;
import dev.seqembed.model.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps a BERT encoder's ONNX graph (a sentence-transformers / optimum style export) to SPEC §4.2: named float
 * initializers keep their Hugging Face names, the anonymous dense weights are named by {@link DenseWeightNames}
 * and transposed to {@code [out, in]}, integer buffers are dropped. The config comes from tensor shapes (vocab,
 * hidden, positions, token types, layers, intermediate size) and from the graph (heads, LayerNorm epsilon,
 * activation). Every tensor {@code BertModel} needs must be present with its shape, or the import fails naming
 * what is missing.
 */
public final class BertGraphMapper {
    private static final String WORD = BertTensors.WORD_EMBEDDINGS;
    private static final String[] LINEAR = {BertTensors.QUERY, BertTensors.KEY, BertTensors.VALUE,
        BertTensors.ATTENTION_OUTPUT, BertTensors.INTERMEDIATE, BertTensors.OUTPUT};
    private static final String[] LAYER_NORMS = {BertTensors.ATTENTION_LN, BertTensors.OUTPUT_LN};

    private BertGraphMapper() {
    }

    /**
     * Maps {@code graph}.
     *
     * @param heads the head count given by the user, or null to read it from the graph
     * @throws OnnxImportException naming the missing tensor or graph feature when the graph does not map
     */
    public static BertImport map(final OnnxGraph graph, final Integer heads) throws OnnxImportException {
        final String prefix = prefix(graph);
        final Map<String, String> denseNames = DenseWeightNames.find(graph);
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        final List<String> dropped = new ArrayList<>();
        for (final OnnxTensor t : graph.initializers().values()) {
            final String mapped = denseNames.get(t.name());
            if (mapped != null) {
                tensors.put(mapped, transposed(t));
            } else if (t.isFloat() && isParameterName(t.name()) && !tensors.containsKey(t.name())) {
                tensors.put(t.name(), tensor(t));
            } else {
                dropped.add(t.name());
            }
        }
        final int[] word = shape(graph, tensors, prefix + WORD, 2);
        final int vocab = word[0];
        final int hidden = word[1];
        final int positions = shape(graph, tensors, prefix + BertTensors.POSITION_EMBEDDINGS, 2)[0];
        final int types = shape(graph, tensors, prefix + BertTensors.TOKEN_TYPE_EMBEDDINGS, 2)[0];
        final int layers = countLayers(tensors, prefix);
        final String interBias = prefix + BertTensors.layer(0, BertTensors.INTERMEDIATE + DenseWeightNames.BIAS);
        final int intermediate = shape(graph, tensors, interBias, 1)[0];
        final int headCount = heads != null ? heads : AttentionHeads.find(graph, hidden);
        final Float graphEps = LayerNormEpsilon.find(graph);
        final float eps = graphEps != null ? graphEps : BertConfig.DEFAULT_LAYER_NORM_EPS;
        final Activation act = HiddenActivation.find(graph, interBias);
        final BertConfig config;
        try {
            config = new BertConfig(vocab, hidden, layers, headCount, intermediate, act, positions, types, eps);
        } catch (final IllegalArgumentException e) {
            throw new OnnxImportException("the graph gives an invalid BERT config: " + e.getMessage(), e);
        }
        checkComplete(graph, tensors, prefix, config, denseNames);
        return new BertImport(config, tensors, heads != null ? "--heads" : "the graph's Reshape",
                graphEps != null ? "the graph's LayerNorm" : "the default (no LayerNorm in the graph)",
                List.copyOf(dropped));
    }

    /** "" or e.g. "bert.": whatever precedes the word embeddings' Hugging Face name. */
    private static String prefix(final OnnxGraph graph) throws OnnxImportException {
        for (final String name : graph.initializers().keySet()) {
            if (name.endsWith(WORD)) {
                return name.substring(0, name.length() - WORD.length());
            }
        }
        throw new OnnxImportException("no initializer named " + WORD + " (with or without a prefix): not a Hugging"
                + " Face BERT export, or its names were stripped");
    }

    /** Module parameters (named after their nn.Module), as opposed to exporter constants such as onnx::Div_12. */
    private static boolean isParameterName(final String name) {
        return !name.startsWith("onnx::") && (name.endsWith(DenseWeightNames.WEIGHT)
                || name.endsWith(DenseWeightNames.BIAS));
    }

    private static int countLayers(final Map<String, Tensor> tensors, final String prefix) throws OnnxImportException {
        int n = 0;
        while (tensors.containsKey(prefix + BertTensors.layer(n, BertTensors.QUERY + DenseWeightNames.BIAS))) {
            n++;
        }
        if (n == 0) {
            throw new OnnxImportException("missing tensor " + prefix
                    + BertTensors.layer(0, BertTensors.QUERY + DenseWeightNames.BIAS) + ": no encoder layers found");
        }
        return n;
    }

    private static int[] shape(final OnnxGraph graph, final Map<String, Tensor> tensors, final String name,
                               final int rank) throws OnnxImportException {
        final Tensor t = tensors.get(name);
        if (t == null) {
            throw missing(graph, name, null);
        }
        if (t.shape().length != rank) {
            throw new OnnxImportException("tensor " + name + " has shape " + t.shapeString() + ", expected rank "
                    + rank);
        }
        return t.shape();
    }

    private static void checkComplete(final OnnxGraph graph, final Map<String, Tensor> tensors, final String p,
                                      final BertConfig c, final Map<String, String> denseNames)
            throws OnnxImportException {
        final int h = c.hiddenSize();
        final int i = c.intermediateSize();
        final Map<String, int[]> expected = new LinkedHashMap<>();
        expected.put(p + BertTensors.EMBEDDINGS_LN_WEIGHT, new int[] {h});
        expected.put(p + BertTensors.EMBEDDINGS_LN_BIAS, new int[] {h});
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            for (final String module : LINEAR) {
                final int out = module.equals(BertTensors.INTERMEDIATE) ? i : h;
                final int in = module.equals(BertTensors.OUTPUT) ? i : h;
                expected.put(p + BertTensors.layer(l, module + DenseWeightNames.WEIGHT), new int[] {out, in});
                expected.put(p + BertTensors.layer(l, module + DenseWeightNames.BIAS), new int[] {out});
            }
            for (final String module : LAYER_NORMS) {
                expected.put(p + BertTensors.layer(l, module + DenseWeightNames.WEIGHT), new int[] {h});
                expected.put(p + BertTensors.layer(l, module + DenseWeightNames.BIAS), new int[] {h});
            }
        }
        for (final Map.Entry<String, int[]> e : expected.entrySet()) {
            final Tensor t = tensors.get(e.getKey());
            if (t == null) {
                throw missing(graph, e.getKey(), e.getValue());
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new OnnxImportException("tensor " + e.getKey() + " has shape " + t.shapeString()
                        + ", expected " + Arrays.toString(e.getValue())
                        + (denseNames.containsValue(e.getKey()) ? " (after transposing the MatMul weight)" : ""));
            }
        }
    }

    private static OnnxImportException missing(final OnnxGraph graph, final String name, final int[] shape) {
        final OnnxTensor present = graph.initializers().get(name);
        if (present != null && present.external()) {
            return new OnnxImportException("tensor " + name + " is stored as ONNX external data: not supported"
                    + " (export with the weights inside the .onnx file)");
        }
        if (present != null && !present.isFloat()) {
            return new OnnxImportException("tensor " + name + " has ONNX data type " + present.dataType()
                    + "; import-onnx reads FLOAT (1) weights");
        }
        final String what = "missing tensor " + name + (shape == null ? "" : " " + Arrays.toString(shape));
        if (name.endsWith(DenseWeightNames.WEIGHT)) {
            final String bias = name.substring(0, name.length() - DenseWeightNames.WEIGHT.length())
                    + DenseWeightNames.BIAS;
            return new OnnxImportException(what + ": no MatMul weight whose output an Add with " + bias
                    + " consumes, and no initializer of that name");
        }
        return new OnnxImportException(what + ": no initializer of that name in the graph");
    }

    private static Tensor tensor(final OnnxTensor t) throws OnnxImportException {
        final int[] shape = new int[t.dims().length];
        for (int k = 0; k < shape.length; k++) {
            shape[k] = Math.toIntExact(t.dims()[k]);
        }
        if (t.external()) {
            throw new OnnxImportException("tensor " + t.name() + " is stored as ONNX external data: not supported"
                    + " (export with the weights inside the .onnx file)");
        }
        try {
            return new Tensor(shape, t.floatValues());
        } catch (final IllegalStateException e) {
            throw new OnnxImportException("malformed tensor in the ONNX file: " + e.getMessage(), e);
        }
    }

    /** A MatMul weight {@code [in, out]} as nn.Linear's {@code [out, in]}. */
    private static Tensor transposed(final OnnxTensor t) throws OnnxImportException {
        final Tensor w = tensor(t);
        final int in = w.shape()[0];
        final int out = w.shape()[1];
        final float[] src = w.data();
        final float[] dst = new float[src.length];
        for (int r = 0; r < in; r++) {
            for (int c = 0; c < out; c++) {
                dst[c * in + r] = src[r * out + c];
            }
        }
        return new Tensor(new int[] {out, in}, dst);
    }
}
