package dev.seqembed.engine;

import java.util.AbstractList;
import java.util.List;
import java.util.RandomAccess;

/** Conversions between model float arrays and Avro's {@code array<float>} lists. */
public final class Vectors {

    private Vectors() {
    }

    /** A list view of the array (no copy; Avro only reads it). */
    public static List<Float> toList(final float[] v) {
        return new FloatList(v);
    }

    /** Avro list to array. */
    public static float[] toArray(final List<Float> list) {
        final float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    /** Avro int list to array. */
    public static int[] toIntArray(final List<Integer> list) {
        final int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = list.get(i);
        }
        return out;
    }

    private static final class FloatList extends AbstractList<Float> implements RandomAccess {
        private final float[] values;

        FloatList(final float[] values) {
            this.values = values;
        }

        @Override
        public Float get(final int index) {
            return values[index];
        }

        @Override
        public int size() {
            return values.length;
        }
    }
}
