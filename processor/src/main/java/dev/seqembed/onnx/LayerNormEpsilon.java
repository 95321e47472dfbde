package dev.seqembed.onnx;

import java.util.TreeSet;

/**
 * The LayerNorm epsilon a graph computes with: the {@code epsilon} attribute of {@code LayerNormalization} nodes
 * (the operator's default 1e-5 when a node omits it), or, in exports that spell LayerNorm out
 * ({@code ReduceMean, Sub, Pow, ReduceMean, Add(eps), Sqrt, Div}), the scalar constant added to the variance
 * before the {@code Sqrt}. For a graph with neither, the caller uses the Hugging Face default 1e-12 (SPEC §10.1).
 */
final class LayerNormEpsilon {
    /** ONNX LayerNormalization's default when the attribute is absent. */
    static final float ONNX_DEFAULT = 1e-5f;

    private LayerNormEpsilon() {
    }

    /**
     * The one epsilon the graph's LayerNorms use, or null if it has no LayerNorm.
     *
     * @throws OnnxImportException when LayerNorms use different epsilons (one config value cannot express that)
     */
    static Float find(final OnnxGraph graph) throws OnnxImportException {
        final TreeSet<Float> found = new TreeSet<>();
        for (final OnnxNode ln : graph.nodesOfType("LayerNormalization")) {
            final OnnxAttribute eps = ln.attributes().get("epsilon");
            found.add(eps != null && eps.hasF() ? eps.f() : ONNX_DEFAULT);
        }
        for (final OnnxNode sqrt : graph.nodesOfType("Sqrt")) {
            final OnnxNode add = graph.producer(sqrt.input(0));
            if (add == null || !add.opType().equals("Add")) {
                continue;
            }
            for (int i = 0; i < 2; i++) {
                final OnnxNode variance = graph.producer(add.input(i));
                final OnnxTensor c = graph.constant(add.input(1 - i));
                if (variance != null && variance.opType().equals("ReduceMean") && c != null && c.isFloat()
                        && c.elementCount() == 1) {
                    found.add(c.floatValues()[0]);
                }
            }
        }
        if (found.size() > 1) {
            throw new OnnxImportException("the graph's LayerNorms use different epsilons " + found
                    + "; config.json has one layer_norm_eps");
        }
        return found.isEmpty() ? null : found.first();
    }
}
