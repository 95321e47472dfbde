package dev.seqembed.onnx;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The main graph of an ONNX model: its nodes in file order, its initializers by name, and the names of its
 * inputs and outputs. Indexes which node produces and which nodes consume each value, so that patterns
 * ("the Add that consumes this MatMul's output") are lookups.
 */
public final class OnnxGraph {
    private final List<OnnxNode> nodes;
    private final Map<String, OnnxTensor> initializers;
    private final List<String> inputs;
    private final List<String> outputs;
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();

    /** A graph over the given parts (copied). */
    public OnnxGraph(final List<OnnxNode> nodes, final Map<String, OnnxTensor> initializers,
                     final List<String> inputs, final List<String> outputs) {
        this.nodes = List.copyOf(nodes);
        this.initializers = Collections.unmodifiableMap(new LinkedHashMap<>(initializers));
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        for (final OnnxNode n : this.nodes) {
            for (final String out : n.outputs()) {
                producers.put(out, n);
            }
            for (final String in : n.inputs()) {
                if (!in.isEmpty()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
    }

    /** Nodes in file (topological) order. */
    public List<OnnxNode> nodes() {
        return nodes;
    }

    /** Initializers by name, in file order. */
    public Map<String, OnnxTensor> initializers() {
        return initializers;
    }

    /** Names of the graph inputs (may include initializers in old IR versions). */
    public List<String> inputs() {
        return inputs;
    }

    /** Names of the graph outputs. */
    public List<String> outputs() {
        return outputs;
    }

    /** The node whose output {@code value} is, or null for graph inputs and initializers. */
    public OnnxNode producer(final String value) {
        return producers.get(value);
    }

    /** The nodes that read {@code value}, in file order. */
    public List<OnnxNode> consumers(final String value) {
        return consumers.getOrDefault(value, List.of());
    }

    /** Nodes of one operator type, in file order. */
    public List<OnnxNode> nodesOfType(final String opType) {
        return nodes.stream().filter(n -> n.opType().equals(opType)).toList();
    }

    /**
     * The constant behind {@code value}: an initializer, or the {@code value} tensor of the {@code Constant} node
     * producing it (possibly through {@code Identity}); null if the value is computed.
     */
    public OnnxTensor constant(final String value) {
        final OnnxTensor init = initializers.get(value);
        if (init != null) {
            return init;
        }
        final OnnxNode p = producers.get(value);
        if (p == null) {
            return null;
        }
        if (p.opType().equals("Identity")) {
            return constant(p.input(0));
        }
        if (p.opType().equals("Constant")) {
            final OnnxAttribute a = p.attributes().get("value");
            if (a != null && a.tensor() != null) {
                return a.tensor();
            }
            final OnnxAttribute f = p.attributes().get("value_float");
            if (f != null) {
                return new OnnxTensor(value, new long[0], OnnxTensor.FLOAT, null, new float[] {f.f()}, null, false);
            }
            final OnnxAttribute i = p.attributes().get("value_int");
            if (i != null) {
                return new OnnxTensor(value, new long[0], OnnxTensor.INT64, null, null, new long[] {i.i()}, false);
            }
            final OnnxAttribute is = p.attributes().get("value_ints");
            if (is != null) {
                return new OnnxTensor(value, new long[] {is.ints().length}, OnnxTensor.INT64, null, null, is.ints(),
                        false);
            }
        }
        return null;
    }
}
