package dev.seqembed.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.state.SequenceProgress;

/** The bodies of {@code /sequences/{id}}: the documented fields in order, valid JSON for any sequence id. */
class SequenceJsonTest {

    @Test
    void statusHasTheDocumentedFieldsInOrder() {
        assertThat(SequenceJson.write(new SequenceJson.SequenceStatus("a", 3, 17L, null, 1, false, "", "encoder")))
                .isEqualTo("{\"sequence_id\":\"a\",\"tokens_seen\":3,\"attention_state_bytes\":17,"
                        + "\"next_chunk_index\":1,\"closed\":false,\"rejected_reason\":\"\",\"mode\":\"encoder\"}");
        assertThat(SequenceJson.write(new SequenceJson.SequenceStatus("a", 3, null, "attention client REBALANCING", 1,
                true, "STATE_LIMIT", "causal")))
                .isEqualTo("{\"sequence_id\":\"a\",\"tokens_seen\":3,\"attention_state_bytes\":null,"
                        + "\"attention_unavailable\":\"attention client REBALANCING\",\"next_chunk_index\":1,"
                        + "\"closed\":true,\"rejected_reason\":\"STATE_LIMIT\",\"mode\":\"causal\"}");
        assertThat(SequenceJson.write(new SequenceJson.UnknownSequence("b")))
                .isEqualTo("{\"sequence_id\":\"b\",\"known\":false}");
    }

    @Test
    void partsGoFromOneInstanceToAnotherUnchanged() throws Exception {
        final SequenceJson.IngestPart known = SequenceJson.IngestPart.of(new SequenceProgress(2, 9, false, "", 0));
        assertThat(SequenceJson.write(known)).isEqualTo("{\"known\":true,\"tokens_seen\":9,\"next_chunk_index\":2,"
                + "\"closed\":false,\"rejected_reason\":\"\"}");
        assertThat(SequenceJson.read(SequenceJson.write(known), SequenceJson.IngestPart.class)).isEqualTo(known);
        final SequenceJson.IngestPart unknown = SequenceJson.IngestPart.of(null);
        assertThat(SequenceJson.write(unknown)).isEqualTo("{\"known\":false}");
        assertThat(SequenceJson.read(SequenceJson.write(unknown), SequenceJson.IngestPart.class)).isEqualTo(unknown);
        final SequenceJson.AttentionPart attention = new SequenceJson.AttentionPart(4096);
        assertThat(SequenceJson.write(attention)).isEqualTo("{\"attention_state_bytes\":4096}");
        assertThat(SequenceJson.read(SequenceJson.write(attention), SequenceJson.AttentionPart.class))
                .isEqualTo(attention);
    }

    @Test
    void anyIdStaysValidJson() throws Exception {
        final String id = "q\"uote\\back\u0001ctl\nline\ttab\u007f é";
        final String unknown = SequenceJson.write(new SequenceJson.UnknownSequence(id));
        assertThat(unknown).doesNotContain("\n", "\t", "\u0001").contains("\\u0001", "\\n", "\\t", "\\\"", "\\\\");
        final JsonNode n = new ObjectMapper().readTree(unknown);
        assertThat(n.get("sequence_id").asText()).isEqualTo(id);
        assertThat(n.get("known").asBoolean()).isFalse();
        final JsonNode status = new ObjectMapper().readTree(SequenceJson.write(new SequenceJson.SequenceStatus(id, 1,
                0L, null, 1, false, "", "encoder")));
        assertThat(status.get("sequence_id").asText()).isEqualTo(id);
    }
}
