package dev.seqembed.serde;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Avro single-object encoding ({@code C3 01} + schema fingerprint + body) for one generated record type: records
 * identify their schema without a registry, and the decoder resolves older writer schemas it knows.
 *
 * @param <T> the generated record class
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T> {

    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    public AvroSerde(final BinaryMessageEncoder<T> encoder, final BinaryMessageDecoder<T> decoder) {
        this.encoder = encoder;
        this.decoder = decoder;
    }

    /** Encodes one record. */
    public byte[] encode(final T record) {
        try {
            final ByteBuffer buffer = encoder.encode(record);
            final byte[] out = new byte[buffer.remaining()];
            buffer.get(out);
            return out;
        } catch (final IOException e) {
            throw new SerializationException("cannot encode " + record.getClass().getSimpleName(), e);
        }
    }

    /**
     * Decodes one record.
     *
     * @throws IOException when the bytes are not a single-object encoded record of this type
     */
    public T decode(final byte[] bytes) throws IOException {
        if (bytes == null) {
            throw new IOException("null value");
        }
        try {
            return decoder.decode(bytes);
        } catch (final RuntimeException e) {
            // Avro reports bad bytes as several runtime types (AvroRuntimeException, BadHeaderException, ...).
            throw new IOException(e.getMessage(), e);
        }
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, data) -> data == null ? null : encode(data);
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, data) -> {
            if (data == null) {
                return null;
            }
            try {
                return decode(data);
            } catch (final IOException e) {
                throw new SerializationException("not a valid record on " + topic + ": " + e.getMessage(), e);
            }
        };
    }
}
