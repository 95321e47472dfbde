package dev.seqembed.onnx;

import dev.seqembed.model.Activation;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * The feed-forward activation (config {@code hidden_act}) as the graph computes it: the operators between
 * layer 0's {@code intermediate.dense} Add and the next MatMul. Erf (or an ONNX {@code Gelu} without the tanh
 * approximation) is the exact GELU; a lone Relu or Tanh is that activation; anything else (e.g. gelu_new's
 * tanh-and-cube approximation) is refused, because loading it as "gelu" would give different vectors.
 */
final class HiddenActivation {
    /** Guards against walking a whole graph when the pattern is not what we expect. */
    private static final int MAX_NODES = 64;

    private HiddenActivation() {
    }

    /**
     * @param intermediateBias the name of layer 0's {@code intermediate.dense.bias} initializer
     * @throws OnnxImportException when the operators are not one of the supported activations
     */
    static Activation find(final OnnxGraph graph, final String intermediateBias) throws OnnxImportException {
        final OnnxNode add = graph.consumers(intermediateBias).stream()
                .filter(n -> n.opType().equals("Add")).findFirst()
                .orElseThrow(() -> new OnnxImportException("no Add consumes " + intermediateBias
                        + ": cannot find the feed-forward activation"));
        final Set<String> ops = new TreeSet<>();
        boolean tanhApproximateGelu = false;
        final Deque<String> todo = new ArrayDeque<>();
        final Set<OnnxNode> seen = new HashSet<>();
        todo.add(add.output());
        while (!todo.isEmpty() && seen.size() < MAX_NODES) {
            for (final OnnxNode n : graph.consumers(todo.poll())) {
                if (n.opType().equals("MatMul") || !seen.add(n)) {
                    continue;
                }
                ops.add(n.opType());
                final OnnxAttribute approx = n.attributes().get("approximate");
                tanhApproximateGelu |= n.opType().equals("Gelu") && approx != null && "tanh".equals(approx.s());
                todo.addAll(n.outputs());
            }
        }
        if ((ops.contains("Erf") || ops.contains("Gelu")) && !tanhApproximateGelu && !ops.contains("Tanh")) {
            return Activation.GELU;
        }
        if (ops.equals(Set.of("Relu"))) {
            return Activation.RELU;
        }
        if (ops.equals(Set.of("Tanh"))) {
            return Activation.TANH;
        }
        throw new OnnxImportException("the feed-forward activation after " + intermediateBias + " is made of "
                + ops + (tanhApproximateGelu ? " (tanh-approximate Gelu)" : "")
                + ": not one of gelu (erf form), relu, tanh");
    }
}
