package dev.seqembed.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;

/** The JSON line form of an Embedding (embed / consume output, report input). */
class EmbeddingJsonTest {

    private static Embedding sample(final EmbeddingPath path, final List<Float> vector) {
        return Embedding.newBuilder().setSequenceId("séq \"1\"").setPath(path).setIndex(3).setStart(24).setLength(16)
                .setFinal$(true).setVector(vector)
                .setModel(new ModelRef("window-mlp", "0123456789abcdef".repeat(4)))
                .setMetrics(ComputeMetrics.newBuilder().setFlops(786_432L).setComputeNanos(12_345L).setBatchSize(64)
                        .setBatchTokens(1000).setPaddedTokens(24).setSequenceLength(40).setStateBytes(4096L)
                        .setQueueMillis(3L).setEndToEndMillis(17L).setCacheHitTokens(24).build())
                .build();
    }

    @Test
    void writeThenReadGivesTheSameEmbedding() throws IOException {
        for (final Embedding e : List.of(sample(EmbeddingPath.DENSE, List.of(0.1f, -2.5f, 1e-7f, 3.4e38f)),
                sample(EmbeddingPath.ATTENTION, List.of()))) {
            final String line = EmbeddingJson.write(e);
            assertThat(line).doesNotContain("\n");
            assertThat(EmbeddingJson.read(line)).isEqualTo(e);
        }
    }

    @Test
    void fieldNamesAreTheAvroOnes() throws IOException {
        final JsonNode n = new ObjectMapper().readTree(EmbeddingJson.write(sample(EmbeddingPath.DENSE,
                List.of(0.5f, 0.25f))));
        assertThat(n.fieldNames()).toIterable().containsExactly("sequence_id", "path", "index", "start", "length",
                "final", "vector", "model", "metrics");
        assertThat(n.get("sequence_id").asText()).isEqualTo("séq \"1\"");
        assertThat(n.get("path").asText()).isEqualTo("DENSE");
        assertThat(n.get("final").asBoolean()).isTrue();
        assertThat(n.get("vector").get(1).floatValue()).isEqualTo(0.25f);
        assertThat(n.get("model").fieldNames()).toIterable().containsExactly("id", "sha256");
        assertThat(n.get("metrics").fieldNames()).toIterable().containsExactly("flops", "compute_nanos",
                "batch_size", "batch_tokens", "padded_tokens", "sequence_length", "state_bytes", "queue_millis",
                "end_to_end_millis", "cache_hit_tokens");
        assertThat(n.get("metrics").get("flops").asLong()).isEqualTo(786_432L);
    }

    @Test
    void aLineThatIsNotAnEmbeddingIsRejectedNotReadAsARecord() {
        assertThatThrownBy(() -> EmbeddingJson.read("{\"sequence_id\": \"a\"}")).isInstanceOfAny(IOException.class,
                org.apache.avro.AvroRuntimeException.class);
        assertThatThrownBy(() -> EmbeddingJson.read("not json")).isInstanceOfAny(IOException.class,
                org.apache.avro.AvroRuntimeException.class);
        assertThatThrownBy(() -> EmbeddingJson.read("")).isInstanceOfAny(IOException.class,
                org.apache.avro.AvroRuntimeException.class);
    }

    /** {@code read} declares IOException for a line that is not an Embedding, so callers can report it as a user error. */
    @Test
    void aLineThatIsNotAnEmbeddingIsAnIOException() {
        assertThatThrownBy(() -> EmbeddingJson.read("{\"sequence_id\": \"a\"}")).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> EmbeddingJson.read("not json")).isInstanceOf(IOException.class);
    }
}
