package dev.seqembed.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

import dev.seqembed.avro.Embedding;

/**
 * The one place that maps Embeddings to and from JSON lines (output of {@code embed} and {@code consume}, input
 * of {@code report}): Avro's JSON encoding, so the field names are the schema's.
 */
public final class EmbeddingJson {

    private static final SpecificDatumWriter<Embedding> WRITER = new SpecificDatumWriter<>(Embedding.class);
    private static final SpecificDatumReader<Embedding> READER = new SpecificDatumReader<>(Embedding.class);

    private EmbeddingJson() {
    }

    /** One line of JSON, without the newline. */
    public static String write(final Embedding e) {
        try {
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            final JsonEncoder encoder = EncoderFactory.get().jsonEncoder(Embedding.getClassSchema(), out);
            WRITER.write(e, encoder);
            encoder.flush();
            return out.toString(StandardCharsets.UTF_8);
        } catch (final IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** Parses one line written by {@link #write}. */
    public static Embedding read(final String line) throws IOException {
        try {
            return READER.read(null, DecoderFactory.get().jsonDecoder(Embedding.getClassSchema(), line));
        } catch (final org.apache.avro.AvroRuntimeException e) {
            throw new IOException("not an Embedding: " + e.getMessage(), e);
        }
    }
}
