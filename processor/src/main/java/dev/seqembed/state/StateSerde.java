package dev.seqembed.state;

import java.nio.ByteBuffer;
import java.util.function.Function;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A serde for a compact state value: a one-byte format version, then the value's own little-endian layout.
 * State lives in changelogged stores, so the format is versioned to let a later release read it.
 *
 * @param <T> the state value type
 */
public final class StateSerde<T> implements Serde<T> {

    private final byte version;
    private final Function<T, ByteBuffer> writer;
    private final Function<ByteBuffer, T> reader;

    public StateSerde(final int version, final Function<T, ByteBuffer> writer, final Function<ByteBuffer, T> reader) {
        this.version = (byte) version;
        this.writer = writer;
        this.reader = reader;
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, value) -> {
            if (value == null) {
                return null;
            }
            final ByteBuffer body = writer.apply(value);
            final byte[] out = new byte[1 + body.remaining()];
            out[0] = version;
            body.get(out, 1, body.remaining());
            return out;
        };
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, data) -> {
            if (data == null) {
                return null;
            }
            if (data.length == 0 || data[0] != version) {
                throw new SerializationException("state in " + topic + " has format "
                        + (data.length == 0 ? "none" : data[0]) + ", this release reads format " + version);
            }
            return reader.apply(ByteBuffer.wrap(data, 1, data.length - 1).slice().order(java.nio.ByteOrder.LITTLE_ENDIAN));
        };
    }

    /** A little-endian buffer of the given size for writers. */
    public static ByteBuffer allocate(final int bytes) {
        return ByteBuffer.allocate(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** Writes an int array with its length. */
    public static void putInts(final ByteBuffer buf, final int[] values) {
        buf.putInt(values.length);
        for (final int v : values) {
            buf.putInt(v);
        }
    }

    /** Reads an int array written by {@link #putInts}. */
    public static int[] getInts(final ByteBuffer buf) {
        final int[] values = new int[buf.getInt()];
        for (int i = 0; i < values.length; i++) {
            values[i] = buf.getInt();
        }
        return values;
    }
}
