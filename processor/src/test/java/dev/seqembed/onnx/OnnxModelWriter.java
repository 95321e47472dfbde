package dev.seqembed.onnx;

import com.google.protobuf.CodedOutputStream;
import dev.seqembed.model.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes ONNX {@code ModelProto} bytes field by field (onnx.proto's field numbers, written independently of
 * {@link OnnxProtoReader}'s constants), so tests can build small graphs in every encoding the reader must accept:
 * tensors in {@code raw_data} or {@code float_data}, dims packed or one tag each.
 */
final class OnnxModelWriter {
    private final List<byte[]> nodes = new ArrayList<>();
    private final List<byte[]> initializers = new ArrayList<>();
    private final List<String> inputs = new ArrayList<>();
    private final List<String> outputs = new ArrayList<>();
    private int constants;

    /** A float initializer; {@code raw} chooses raw_data (as PyTorch writes) or float_data. */
    OnnxModelWriter initializer(final String name, final Tensor t, final boolean raw) {
        initializers.add(floatTensor(name, t, raw));
        return this;
    }

    /** An int64 initializer in raw_data (e.g. position_ids, a constant shape). */
    OnnxModelWriter int64Initializer(final String name, final long[] dims, final long... values) {
        initializers.add(int64Tensor(name, dims, values));
        return this;
    }

    OnnxModelWriter input(final String name) {
        inputs.add(name);
        return this;
    }

    OnnxModelWriter output(final String name) {
        outputs.add(name);
        return this;
    }

    /** A node with one output named after the node; returns that output. */
    String node(final String opType, final String name, final List<String> in, final byte[]... attributes) {
        final String out = name + "_output_0";
        nodes.add(message(o -> {
            for (final String i : in) {
                o.writeString(1, i);
            }
            o.writeString(2, out);
            o.writeString(3, name);
            o.writeString(4, opType);
            for (final byte[] a : attributes) {
                o.writeByteArray(5, a);
            }
        }));
        return out;
    }

    /** A Constant node holding a float scalar; returns its output. */
    String floatConstant(final float value) {
        final String name = "/Constant_" + constants++;
        return node("Constant", name, List.of(), tensorAttribute("value",
                floatTensor("", new Tensor(new int[0], new float[] {value}), true)));
    }

    /** A Constant node holding an int64 vector; returns its output. */
    String int64Constant(final long... values) {
        final String name = "/Constant_" + constants++;
        return node("Constant", name, List.of(), tensorAttribute("value",
                int64Tensor("", new long[] {values.length}, values)));
    }

    /** The ModelProto bytes: IR version 8, default opset 14, the graph. */
    byte[] build() {
        return message(o -> {
            o.writeInt64(1, 8);
            o.writeString(2, "seqembed-test");
            o.writeByteArray(8, message(op -> op.writeInt64(2, 14)));
            o.writeByteArray(7, message(g -> {
                for (final byte[] n : nodes) {
                    g.writeByteArray(1, n);
                }
                g.writeString(2, "test-graph");
                for (final byte[] t : initializers) {
                    g.writeByteArray(5, t);
                }
                for (final String i : inputs) {
                    g.writeByteArray(11, message(v -> v.writeString(1, i)));
                }
                for (final String i : outputs) {
                    g.writeByteArray(12, message(v -> v.writeString(1, i)));
                }
            }));
        });
    }

    static byte[] floatAttribute(final String name, final float value) {
        return message(o -> {
            o.writeString(1, name);
            o.writeFloat(2, value);
            o.writeEnum(20, 1); // AttributeType FLOAT
        });
    }

    static byte[] intAttribute(final String name, final long value) {
        return message(o -> {
            o.writeString(1, name);
            o.writeInt64(3, value);
            o.writeEnum(20, 2); // INT
        });
    }

    static byte[] intsAttribute(final String name, final long... values) {
        return message(o -> {
            o.writeString(1, name);
            for (final long v : values) {
                o.writeInt64(8, v);
            }
            o.writeEnum(20, 7); // INTS
        });
    }

    static byte[] stringAttribute(final String name, final String value) {
        return message(o -> {
            o.writeString(1, name);
            o.writeByteArray(4, value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            o.writeEnum(20, 3); // STRING
        });
    }

    static byte[] tensorAttribute(final String name, final byte[] tensor) {
        return message(o -> {
            o.writeString(1, name);
            o.writeByteArray(5, tensor);
            o.writeEnum(20, 4); // TENSOR
        });
    }

    /** dims one tag each; values in raw_data (little-endian) or packed float_data. */
    static byte[] floatTensor(final String name, final Tensor t, final boolean raw) {
        return message(o -> {
            for (final int d : t.shape()) {
                o.writeInt64(1, d);
            }
            o.writeInt32(2, 1); // FLOAT
            o.writeString(8, name);
            if (raw) {
                final ByteBuffer b = ByteBuffer.allocate(4 * t.size()).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(t.data());
                o.writeByteArray(9, b.array());
            } else {
                o.writeTag(4, 2);
                o.writeUInt32NoTag(4 * t.size());
                for (final float v : t.data()) {
                    o.writeFloatNoTag(v);
                }
            }
        });
    }

    /** dims packed; values in raw_data. */
    static byte[] int64Tensor(final String name, final long[] dims, final long[] values) {
        return message(o -> {
            final ByteArrayOutputStream packed = new ByteArrayOutputStream();
            final CodedOutputStream p = CodedOutputStream.newInstance(packed);
            for (final long d : dims) {
                p.writeInt64NoTag(d);
            }
            p.flush();
            o.writeByteArray(1, packed.toByteArray());
            o.writeInt32(2, 7); // INT64
            o.writeString(8, name);
            final ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(values);
            o.writeByteArray(9, b.array());
        });
    }

    interface Fields {
        void write(CodedOutputStream out) throws IOException;
    }

    static byte[] message(final Fields fields) {
        try {
            final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            final CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            fields.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
