package dev.seqembed.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * A float32 tensor in row-major (C) order, as stored in a safetensors file.
 *
 * @param shape dimensions (empty for a scalar)
 * @param data  {@code product(shape)} values, row-major
 */
public record Tensor(int[] shape, float[] data) {

    public Tensor {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        long n = 1;
        for (final int s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n
                    + " values, got " + data.length);
        }
    }

    /** Number of elements. */
    public int size() {
        return data.length;
    }

    /** The shape as text, e.g. {@code [256, 128]}, as used in error messages. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(final Object o) {
        return o instanceof Tensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
