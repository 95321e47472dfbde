package dev.seqembed.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;

/**
 * Reads only {@code metrics.compute_nanos} of a single-object encoded Embedding, for the benchmark's consumer:
 * Avro resolves the record against a reader schema that has just the metrics, so the 256-float vector is skipped,
 * not decoded into a list of boxed floats. The consumer shares the machine with what it measures; decoding
 * whole embeddings was ~5 % of the CPU samples of a {@code bench --e2e} run.
 */
final class EmbeddingComputeNanos {
    /** Single-object encoding: C3 01, then the writer schema's 64-bit fingerprint, little-endian. */
    private static final int HEADER = 10;
    private static final long FINGERPRINT = SchemaNormalization.parsingFingerprint64(Embedding.getClassSchema());
    private static final Schema METRICS_ONLY = SchemaBuilder.record(Embedding.getClassSchema().getName())
            .namespace(Embedding.getClassSchema().getNamespace())
            .fields().name("metrics").type(ComputeMetrics.getClassSchema()).noDefault()
            .endRecord();

    private final GenericDatumReader<GenericRecord> reader =
            new GenericDatumReader<>(Embedding.getClassSchema(), METRICS_ONLY);
    private BinaryDecoder decoder;

    /** compute_nanos of the encoded Embedding; one instance per thread. */
    long of(final byte[] value) throws IOException {
        if (value == null || value.length < HEADER || value[0] != (byte) 0xC3 || value[1] != 0x01
                || ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() != FINGERPRINT) {
            throw new IOException("not a single-object encoded Embedding of this schema");
        }
        decoder = DecoderFactory.get().binaryDecoder(value, HEADER, value.length - HEADER, decoder);
        final GenericRecord metrics = (GenericRecord) reader.read(null, decoder).get("metrics");
        return (Long) metrics.get("compute_nanos");
    }
}
