package dev.seqembed.onnx;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Names the dense (nn.Linear) weights of a PyTorch ONNX export. The exporter folds {@code W^T} into a new
 * anonymous initializer ({@code onnx::MatMul_N}, shape {@code [in, out]}) and computes
 * {@code Add(<module>.bias, MatMul(x, onnx::MatMul_N))}; the bias keeps its Hugging Face name. So each MatMul
 * whose second input is a 2-D float initializer, and whose output only an {@code Add} with a {@code *.bias}
 * initializer consumes, gives that weight the name {@code <module>.weight} (SPEC §10.1).
 */
final class DenseWeightNames {
    static final String BIAS = ".bias";
    static final String WEIGHT = ".weight";

    private DenseWeightNames() {
    }

    /** Initializer name to the Hugging Face weight name, for every MatMul weight that follows the pattern. */
    static Map<String, String> find(final OnnxGraph graph) {
        final Map<String, String> names = new LinkedHashMap<>();
        for (final OnnxNode matMul : graph.nodesOfType("MatMul")) {
            final OnnxTensor w = graph.initializers().get(matMul.input(1));
            if (w == null || !w.isFloat() || w.dims().length != 2) {
                continue;
            }
            final List<OnnxNode> users = graph.consumers(matMul.output());
            if (users.size() != 1 || !users.get(0).opType().equals("Add")) {
                continue;
            }
            final OnnxNode add = users.get(0);
            final String other = add.input(0).equals(matMul.output()) ? add.input(1) : add.input(0);
            final OnnxTensor bias = graph.initializers().get(other);
            if (bias == null || !other.endsWith(BIAS) || bias.dims().length != 1 || bias.dims()[0] != w.dims()[1]) {
                continue;
            }
            names.put(w.name(), other.substring(0, other.length() - BIAS.length()) + WEIGHT);
        }
        return names;
    }
}
