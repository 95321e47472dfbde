package dev.seqembed.state;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
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
    /** Readers of earlier formats still found in changelogs written by an earlier release. */
    private final Map<Byte, Function<ByteBuffer, T>> olderReaders;

    public StateSerde(final int version, final Function<T, ByteBuffer> writer, final Function<ByteBuffer, T> reader) {
        this(version, writer, reader, Map.of());
    }

    private StateSerde(final int version, final Function<T, ByteBuffer> writer, final Function<ByteBuffer, T> reader,
                       final Map<Byte, Function<ByteBuffer, T>> olderReaders) {
        this.version = (byte) version;
        this.writer = writer;
        this.reader = reader;
        this.olderReaders = Map.copyOf(olderReaders);
    }

    /** A copy that also reads format {@code olderVersion} (written by an earlier release) with {@code older}. */
    public StateSerde<T> alsoReading(final int olderVersion, final Function<ByteBuffer, T> older) {
        final Map<Byte, Function<ByteBuffer, T>> readers = new HashMap<>(olderReaders);
        readers.put((byte) olderVersion, older);
        return new StateSerde<>(version, writer, reader, readers);
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
            final Function<ByteBuffer, T> read = data.length == 0 ? null
                    : data[0] == version ? reader : olderReaders.get(data[0]);
            if (read == null) {
                throw new SerializationException("state in " + topic + " has format "
                        + (data.length == 0 ? "none" : data[0]) + ", this release reads format " + version
                        + (olderReaders.isEmpty() ? "" : " and " + olderReaders.keySet()));
            }
            final ByteBuffer buf = ByteBuffer.wrap(data, 1, data.length - 1).slice()
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            final T value = read.apply(buf);
            if (buf.hasRemaining()) {
                throw new SerializationException("state in " + topic + " has " + buf.remaining()
                        + " byte(s) past its format-" + data[0] + " value");
            }
            return value;
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

    /** Bytes of {@link #putSha256}. */
    public static final int SHA256_BYTES = 32;

    /** Writes a hex SHA-256 as its 32 raw bytes; null (unknown) as 32 zero bytes. */
    public static void putSha256(final ByteBuffer buf, final String hex) {
        buf.put(hex == null ? new byte[SHA256_BYTES] : HexFormat.of().parseHex(hex));
    }

    /** Reads {@link #putSha256}: the hex digest, or null for the all-zero "unknown". */
    public static String getSha256(final ByteBuffer buf) {
        final byte[] raw = new byte[SHA256_BYTES];
        buf.get(raw);
        for (final byte b : raw) {
            if (b != 0) {
                return HexFormat.of().formatHex(raw);
            }
        }
        return null;
    }

    /**
     * Reads the element count written before {@code elementBytes}-byte elements, checked against the bytes left: a
     * corrupt count is a decoding error, not an allocation of gigabytes.
     */
    public static int getCount(final ByteBuffer buf, final int elementBytes) {
        final int count = buf.getInt();
        if (count < 0 || count > buf.remaining() / elementBytes) {
            throw new SerializationException("state value counts " + count + " element(s) of " + elementBytes
                    + " byte(s) but has " + buf.remaining() + " byte(s) left");
        }
        return count;
    }

    /** Reads an int array written by {@link #putInts}. */
    public static int[] getInts(final ByteBuffer buf) {
        final int[] values = new int[getCount(buf, Integer.BYTES)];
        for (int i = 0; i < values.length; i++) {
            values[i] = buf.getInt();
        }
        return values;
    }
}
