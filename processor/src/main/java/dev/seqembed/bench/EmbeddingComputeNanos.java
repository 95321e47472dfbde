package dev.seqembed.bench;

import java.io.IOException;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;

/**
 * Reads only {@code metrics.compute_nanos} of a single-object encoded Embedding, for the benchmark's consumer:
 * Avro resolves the record against a reader schema that has just the metrics, so the 256-float vector is skipped,
 * not decoded into a list of boxed floats. The consumer shares the machine with what it measures; decoding
 * whole embeddings was ~5 % of the CPU samples of a {@code bench --e2e} run.
 */
final class EmbeddingComputeNanos {
    private static final Schema METRICS_ONLY = SchemaBuilder.record(Embedding.getClassSchema().getName())
            .namespace(Embedding.getClassSchema().getNamespace())
            .fields().name("metrics").type(ComputeMetrics.getClassSchema()).noDefault()
            .endRecord();

    /** Knows the Embedding writer schema (by its fingerprint in each message) and reads it as METRICS_ONLY. */
    private final BinaryMessageDecoder<GenericRecord> decoder =
            new BinaryMessageDecoder<>(GenericData.get(), METRICS_ONLY);

    EmbeddingComputeNanos() {
        decoder.addSchema(Embedding.getClassSchema());
    }

    /** compute_nanos of the encoded Embedding; one instance per thread. */
    long of(final byte[] value) throws IOException {
        if (value == null) {
            throw new IOException("null value");
        }
        try {
            return (Long) ((GenericRecord) decoder.decode(value).get("metrics")).get("compute_nanos");
        } catch (final AvroRuntimeException e) {
            // another record's schema (MissingSchemaException) or no single-object header (BadHeaderException)
            throw new IOException("not a single-object encoded Embedding: " + e.getMessage(), e);
        }
    }
}
