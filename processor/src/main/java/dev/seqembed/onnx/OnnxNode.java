package dev.seqembed.onnx;

import java.util.List;
import java.util.Map;

/**
 * One ONNX {@code NodeProto}: an operator applied to named values.
 *
 * @param name       the node name (may be empty)
 * @param opType     the operator, e.g. {@code MatMul}
 * @param inputs     input value names in order (an empty string marks an omitted optional input)
 * @param outputs    output value names in order
 * @param attributes the attributes this reader decodes, by name
 */
public record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs,
                       Map<String, OnnxAttribute> attributes) {

    /** The input at {@code index}, or the empty string if there is none. */
    public String input(final int index) {
        return index < inputs.size() ? inputs.get(index) : "";
    }

    /** The first output (every operator read here has one). */
    public String output() {
        return outputs.isEmpty() ? "" : outputs.get(0);
    }
}
