package dev.seqembed.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One ONNX {@code TensorProto} as read from the file: its name, dims and element type, with the values either
 * in {@code raw_data} (little-endian bytes) or in the typed repeated fields. Only the element types an
 * encoder export carries as weights or shape constants are decoded: FLOAT and INT64 (plus INT32 for shapes).
 *
 * @param name     the initializer name (empty for an unnamed constant)
 * @param dims     the shape
 * @param dataType ONNX {@code TensorProto.DataType} code ({@link #FLOAT}, {@link #INT64}, ...)
 * @param raw      {@code raw_data}, or null
 * @param floats   {@code float_data}, or null
 * @param longs    {@code int64_data} (or {@code int32_data} widened), or null
 * @param external whether the values live in an external file ({@code data_location = EXTERNAL})
 */
public record OnnxTensor(String name, long[] dims, int dataType, byte[] raw, float[] floats, long[] longs,
                         boolean external) {
    /** {@code TensorProto.DataType.FLOAT}. */
    public static final int FLOAT = 1;
    /** {@code TensorProto.DataType.INT32}. */
    public static final int INT32 = 6;
    /** {@code TensorProto.DataType.INT64}. */
    public static final int INT64 = 7;

    /** Number of elements (1 for a scalar). */
    public long elementCount() {
        long n = 1;
        for (final long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Whether this is a float32 tensor. */
    public boolean isFloat() {
        return dataType == FLOAT;
    }

    /** Whether this tensor holds integers (shapes, position ids, axes). */
    public boolean isInteger() {
        return dataType == INT64 || dataType == INT32;
    }

    /** The values as float32 (row-major), decoding {@code raw_data} when present. */
    public float[] floatValues() {
        if (dataType != FLOAT) {
            throw new IllegalStateException(name + " is of ONNX data type " + dataType + ", not FLOAT");
        }
        final int n = Math.toIntExact(elementCount());
        if (raw != null) {
            checkRawLength(n, Float.BYTES);
            final float[] out = new float[n];
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        }
        return checkLength(floats == null ? new float[0] : floats, n);
    }

    /** The values as longs, decoding {@code raw_data} when present. */
    public long[] longValues() {
        if (!isInteger()) {
            throw new IllegalStateException(name + " is of ONNX data type " + dataType + ", not an integer type");
        }
        final int n = Math.toIntExact(elementCount());
        if (raw != null) {
            final ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            final long[] out = new long[n];
            if (dataType == INT64) {
                checkRawLength(n, Long.BYTES);
                b.asLongBuffer().get(out);
            } else {
                checkRawLength(n, Integer.BYTES);
                for (int i = 0; i < n; i++) {
                    out[i] = b.getInt(i * Integer.BYTES);
                }
            }
            return out;
        }
        final long[] values = longs == null ? new long[0] : longs;
        if (values.length != n) {
            throw new IllegalStateException(name + ": " + values.length + " values for dims " + Arrays.toString(dims));
        }
        return values;
    }

    private void checkRawLength(final int n, final int width) {
        if (raw.length != (long) n * width) {
            throw new IllegalStateException(name + ": raw_data of " + raw.length + " bytes for dims "
                    + Arrays.toString(dims) + " of " + width + "-byte elements");
        }
    }

    private float[] checkLength(final float[] values, final int n) {
        if (values.length != n) {
            throw new IllegalStateException(name + ": " + values.length + " values for dims " + Arrays.toString(dims));
        }
        return values;
    }
}
