package dev.seqembed.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the parts of an ONNX {@code ModelProto} that an encoder import needs, with protobuf's own wire-format
 * decoder ({@link CodedInputStream}); everything else (opsets, metadata, value types, sub-graphs) is skipped.
 * The field numbers are those of {@code onnx/onnx.proto} (IR version 3 onwards), listed below as constants.
 * No generated classes: the shipped jar would need the onnx schema compiled in for five messages.
 *
 * <p>Sub-messages are read in place ({@code pushLimit}/{@code popLimit}), so the file's bytes are not copied
 * message by message; only each tensor's {@code raw_data} is copied out (and then decoded).
 */
public final class OnnxProtoReader {
    // ModelProto
    private static final int MODEL_GRAPH = 7;
    // GraphProto
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    // ValueInfoProto
    private static final int VALUE_INFO_NAME = 1;
    // NodeProto
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    private static final int NODE_ATTRIBUTE = 5;
    // AttributeProto
    private static final int ATTR_NAME = 1;
    private static final int ATTR_F = 2;
    private static final int ATTR_I = 3;
    private static final int ATTR_S = 4;
    private static final int ATTR_T = 5;
    private static final int ATTR_INTS = 8;
    // TensorProto
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_FLOAT_DATA = 4;
    private static final int TENSOR_INT32_DATA = 5;
    private static final int TENSOR_INT64_DATA = 7;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int TENSOR_DATA_LOCATION = 14;
    private static final int DATA_LOCATION_EXTERNAL = 1;

    private OnnxProtoReader() {
    }

    /** Parses a serialized {@code ModelProto} and returns its main graph. */
    public static OnnxGraph read(final byte[] model) throws IOException {
        final CodedInputStream in = CodedInputStream.newInstance(model);
        in.setSizeLimit(Integer.MAX_VALUE);
        OnnxGraph graph = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            if (WireFormat.getTagFieldNumber(tag) == MODEL_GRAPH) {
                expectMessage(tag, "ModelProto.graph");
                final int old = enter(in);
                graph = graph(in);
                in.popLimit(old);
            } else {
                in.skipField(tag);
            }
        }
        if (graph == null) {
            throw new InvalidProtocolBufferException("no graph in the ONNX model (is this an ONNX file?)");
        }
        return graph;
    }

    private static OnnxGraph graph(final CodedInputStream in) throws IOException {
        final List<OnnxNode> nodes = new ArrayList<>();
        final Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        final List<String> inputs = new ArrayList<>();
        final List<String> outputs = new ArrayList<>();
        int tag;
        while ((tag = in.readTag()) != 0) {
            final int field = WireFormat.getTagFieldNumber(tag);
            if (field == GRAPH_NODE || field == GRAPH_INITIALIZER || field == GRAPH_INPUT || field == GRAPH_OUTPUT) {
                expectMessage(tag, "GraphProto field " + field);
                final int old = enter(in);
                switch (field) {
                    case GRAPH_NODE -> nodes.add(node(in));
                    case GRAPH_INITIALIZER -> {
                        final OnnxTensor t = tensor(in);
                        initializers.put(t.name(), t);
                    }
                    case GRAPH_INPUT -> inputs.add(valueInfoName(in));
                    default -> outputs.add(valueInfoName(in));
                }
                in.popLimit(old);
            } else {
                in.skipField(tag);
            }
        }
        return new OnnxGraph(nodes, initializers, inputs, outputs);
    }

    private static String valueInfoName(final CodedInputStream in) throws IOException {
        String name = "";
        int tag;
        while ((tag = in.readTag()) != 0) {
            if (WireFormat.getTagFieldNumber(tag) == VALUE_INFO_NAME) {
                name = in.readStringRequireUtf8();
            } else {
                in.skipField(tag);
            }
        }
        return name;
    }

    private static OnnxNode node(final CodedInputStream in) throws IOException {
        final List<String> inputs = new ArrayList<>();
        final List<String> outputs = new ArrayList<>();
        final Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        String name = "";
        String opType = "";
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case NODE_INPUT -> inputs.add(in.readStringRequireUtf8());
                case NODE_OUTPUT -> outputs.add(in.readStringRequireUtf8());
                case NODE_NAME -> name = in.readStringRequireUtf8();
                case NODE_OP_TYPE -> opType = in.readStringRequireUtf8();
                case NODE_ATTRIBUTE -> {
                    expectMessage(tag, "NodeProto.attribute");
                    final int old = enter(in);
                    final OnnxAttribute a = attribute(in);
                    attributes.put(a.name(), a);
                    in.popLimit(old);
                }
                default -> in.skipField(tag);
            }
        }
        return new OnnxNode(name, opType, inputs, outputs, attributes);
    }

    private static OnnxAttribute attribute(final CodedInputStream in) throws IOException {
        String name = "";
        float f = 0f;
        boolean hasF = false;
        long i = 0;
        String s = null;
        final LongList ints = new LongList();
        OnnxTensor t = null;
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case ATTR_NAME -> name = in.readStringRequireUtf8();
                case ATTR_F -> {
                    f = in.readFloat();
                    hasF = true;
                }
                case ATTR_I -> i = in.readInt64();
                case ATTR_S -> s = new String(in.readByteArray(), StandardCharsets.UTF_8);
                case ATTR_T -> {
                    expectMessage(tag, "AttributeProto.t");
                    final int old = enter(in);
                    t = tensor(in);
                    in.popLimit(old);
                }
                case ATTR_INTS -> readInt64s(in, tag, ints);
                default -> in.skipField(tag);
            }
        }
        return new OnnxAttribute(name, f, hasF, i, s, ints.toArray(), t);
    }

    private static OnnxTensor tensor(final CodedInputStream in) throws IOException {
        final LongList dims = new LongList();
        final LongList longs = new LongList();
        final FloatList floats = new FloatList();
        int dataType = 0;
        String name = "";
        byte[] raw = null;
        boolean external = false;
        int tag;
        while ((tag = in.readTag()) != 0) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case TENSOR_DIMS -> readInt64s(in, tag, dims);
                case TENSOR_DATA_TYPE -> dataType = in.readInt32();
                case TENSOR_FLOAT_DATA -> readFloats(in, tag, floats);
                case TENSOR_INT32_DATA, TENSOR_INT64_DATA -> readInt64s(in, tag, longs);
                case TENSOR_NAME -> name = in.readStringRequireUtf8();
                case TENSOR_RAW_DATA -> raw = in.readByteArray();
                case TENSOR_DATA_LOCATION -> external = in.readEnum() == DATA_LOCATION_EXTERNAL;
                default -> in.skipField(tag);
            }
        }
        return new OnnxTensor(name, dims.toArray(), dataType, raw, floats.size() == 0 ? null : floats.toArray(),
                longs.size() == 0 ? null : longs.toArray(), external);
    }

    /** A repeated int64/int32 field, packed (one length-delimited run) or not (one varint per tag). */
    private static void readInt64s(final CodedInputStream in, final int tag, final LongList into) throws IOException {
        if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            final int old = enter(in);
            while (in.getBytesUntilLimit() > 0) {
                into.add(in.readInt64());
            }
            in.popLimit(old);
        } else {
            into.add(in.readInt64());
        }
    }

    /** A repeated float field, packed or not. */
    private static void readFloats(final CodedInputStream in, final int tag, final FloatList into) throws IOException {
        if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            final int old = enter(in);
            while (in.getBytesUntilLimit() > 0) {
                into.add(in.readFloat());
            }
            in.popLimit(old);
        } else {
            into.add(in.readFloat());
        }
    }

    /** Reads a length prefix and limits the stream to that many bytes; returns the limit to restore. */
    private static int enter(final CodedInputStream in) throws IOException {
        final int length = in.readRawVarint32();
        if (length < 0) {
            throw new InvalidProtocolBufferException("negative length " + length);
        }
        return in.pushLimit(length);
    }

    private static void expectMessage(final int tag, final String what) throws InvalidProtocolBufferException {
        if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            throw new InvalidProtocolBufferException(what + " has wire type " + WireFormat.getTagWireType(tag)
                    + ", expected a length-delimited message (is this an ONNX file?)");
        }
    }

    /** A growable long array (dims and integer data). */
    private static final class LongList {
        private long[] values = new long[8];
        private int size;

        void add(final long v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        int size() {
            return size;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }

    /** A growable float array ({@code float_data} of tensors written without raw_data). */
    private static final class FloatList {
        private float[] values = new float[8];
        private int size;

        void add(final float v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        int size() {
            return size;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }
}
