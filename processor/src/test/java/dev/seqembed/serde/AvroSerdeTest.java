package dev.seqembed.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.avro.WindowRecord;
import dev.seqembed.testing.Chunks;

/** Avro single-object encoding of the topics' records (SPEC §3). */
class AvroSerdeTest {

    /** TokenChunk as a producer built before {@code attributes} existed would have written it. */
    private static final Schema TOKEN_CHUNK_V0 = new Schema.Parser().parse("""
            {"type": "record", "name": "TokenChunk", "namespace": "dev.seqembed.avro", "fields": [
              {"name": "sequence_id", "type": "string"},
              {"name": "chunk_index", "type": "int"},
              {"name": "tokens", "type": {"type": "array", "items": "int"}},
              {"name": "last", "type": "boolean"}]}""");

    private final AvroSerde<TokenChunk> chunks = RecordSerdes.tokenChunk();

    private static TokenChunk sample() {
        return TokenChunk.newBuilder().setSequenceId("seq-1").setChunkIndex(2).setTokens(List.of(101, 7, 30521))
                .setLast(true).setAttributes(Map.of("source", "test")).build();
    }

    private static Embedding embedding() {
        return Embedding.newBuilder().setSequenceId("e").setPath(EmbeddingPath.ATTENTION).setIndex(1).setStart(4)
                .setLength(3).setFinal$(true).setVector(List.of(0.5f, -0.25f))
                .setModel(new ModelRef("attention", "ab".repeat(32)))
                .setMetrics(new ComputeMetrics(10L, 20L, 1, 3, 0, 7, 1024L, 2L, 3L, 4))
                .build();
    }

    @Test
    void singleObjectEncodingStartsWithC301AndTheSchemaFingerprint() {
        final byte[] bytes = chunks.encode(sample());
        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        final long fingerprint = SchemaNormalization.parsingFingerprint64(TokenChunk.getClassSchema());
        assertThat(ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()).isEqualTo(fingerprint);
    }

    @Test
    void everyRecordTypeRoundTrips() throws IOException {
        assertThat(chunks.decode(chunks.encode(sample()))).isEqualTo(sample());
        final WindowRecord w = WindowRecord.newBuilder().setSequenceId("w").setWindowIndex(1).setStart(8)
                .setTokens(List.of(1, 2, 0, 0)).setValid(2).setFinal$(true).setIngestTimeMs(99).build();
        assertThat(RecordSerdes.windowRecord().decode(RecordSerdes.windowRecord().encode(w))).isEqualTo(w);
        assertThat(RecordSerdes.embedding().decode(RecordSerdes.embedding().encode(embedding()))).isEqualTo(embedding());
        final AvroSerde<Embedding> e = RecordSerdes.embedding();
        assertThat(e.deserializer().deserialize("t", e.serializer().serialize("t", embedding())))
                .isEqualTo(embedding());
    }

    @Test
    void aChunkWithoutAttributesDecodesWithAnEmptyMap() throws IOException {
        final TokenChunk c = Chunks.chunk("s", 0, new int[] {1}, true);
        assertThat(chunks.decode(chunks.encode(c)).getAttributes()).isEmpty();
    }

    @Test
    void garbageNullAndTruncatedBytesAreIOExceptions() {
        assertThatThrownBy(() -> chunks.decode(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> chunks.decode(new byte[0])).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> chunks.decode(null)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> chunks.decode("{\"sequence_id\":\"a\"}".getBytes()))
                .isInstanceOf(IOException.class);
        final byte[] good = chunks.encode(sample());
        assertThatThrownBy(() -> chunks.decode(Arrays.copyOf(good, good.length - 3)))
                .isInstanceOf(IOException.class);
    }

    @Test
    void anotherRecordTypeIsNotATokenChunk() {
        final byte[] window = RecordSerdes.windowRecord().encode(WindowRecord.newBuilder().setSequenceId("w")
                .setWindowIndex(0).setStart(0).setTokens(List.of(1)).setValid(1).setFinal$(true).setIngestTimeMs(0)
                .build());
        assertThatThrownBy(() -> chunks.decode(window)).isInstanceOf(IOException.class);
    }

    @Test
    void theKafkaDeserializerReportsBadBytesAsSerializationExceptionNamingTheTopic() {
        assertThatThrownBy(() -> chunks.deserializer().deserialize("tokens", new byte[] {9, 9, 9}))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("tokens");
        assertThat(chunks.deserializer().deserialize("tokens", null)).isNull();
        assertThat(chunks.serializer().serialize("tokens", null)).isNull();
    }

    private static byte[] writeWithV0(final String id, final List<Integer> tokens) throws IOException {
        final GenericRecord old = new GenericData.Record(TOKEN_CHUNK_V0);
        old.put("sequence_id", id);
        old.put("chunk_index", 0);
        old.put("tokens", tokens);
        old.put("last", true);
        final ByteBuffer buf = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), TOKEN_CHUNK_V0).encode(old);
        final byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    /**
     * A decoder that has been told the older writer schema resolves it: {@code attributes} takes its default. (A
     * fresh decoder is used rather than mutating the shared {@code TokenChunk.getDecoder()} other tests rely on.)
     */
    @Test
    void aTokenChunkFromAnOlderWriterSchemaDecodesWhenTheDecoderKnowsThatSchema() throws IOException {
        final byte[] old = writeWithV0("old-1", List.of(5, 6, 7));
        final BinaryMessageDecoder<TokenChunk> decoder = TokenChunk.createDecoder(null);
        decoder.addSchema(TOKEN_CHUNK_V0);
        final AvroSerde<TokenChunk> serde = new AvroSerde<>(TokenChunk.getEncoder(), decoder);
        final TokenChunk c = serde.decode(old);
        assertThat(c.getSequenceId()).isEqualTo("old-1");
        assertThat(c.getTokens()).containsExactly(5, 6, 7);
        assertThat(c.getLast()).isTrue();
        assertThat(c.getAttributes()).isEmpty();
        // The current schema still works on the same decoder.
        assertThat(serde.decode(serde.encode(sample()))).isEqualTo(sample());
    }

    /**
     * Documents the current behaviour: the production serde registers no older schema (there is none yet: this is
     * the first release), so bytes written with an unknown schema are a DESERIALIZATION reject, not a crash.
     */
    @Test
    void theProductionDecoderRejectsAnUnknownWriterSchemaAsIOException() throws IOException {
        final byte[] old = writeWithV0("old-2", List.of(1));
        assertThatThrownBy(() -> RecordSerdes.tokenChunk().decode(old)).isInstanceOf(IOException.class);
    }
}
