package dev.seqembed.onnx;

/**
 * One ONNX {@code AttributeProto}, reduced to the kinds an encoder graph needs: a float (e.g. LayerNorm's
 * {@code epsilon}), an int, a string, a list of ints (e.g. {@code axes}) or a tensor (a {@code Constant}'s
 * {@code value}). Fields the attribute does not carry are 0, null or empty.
 *
 * @param name   attribute name
 * @param f      {@code f}
 * @param hasF   whether {@code f} was present
 * @param i      {@code i}
 * @param s      {@code s} as UTF-8 text, or null
 * @param ints   {@code ints}
 * @param tensor {@code t}, or null
 */
public record OnnxAttribute(String name, float f, boolean hasF, long i, String s, long[] ints, OnnxTensor tensor) {
}
