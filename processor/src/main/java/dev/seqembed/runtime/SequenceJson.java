package dev.seqembed.runtime;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.state.SequenceProgress;

/**
 * The JSON bodies of {@code /sequences/{id}} (SPEC §9), as records written and read by Jackson: the answer to a
 * client and the two parts instances ask each other for ({@code ?part=ingest|attention}). Jackson escapes what a
 * sequence id may hold (quotes, backslashes, control characters).
 */
final class SequenceJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SequenceJson() {
    }

    /** {@code /sequences/{id}} of a sequence no instance has seen (404). */
    @JsonPropertyOrder({"sequence_id", "known"})
    record UnknownSequence(@JsonProperty("sequence_id") String sequenceId, boolean known) {

        UnknownSequence(final String sequenceId) {
            this(sequenceId, false);
        }
    }

    /**
     * {@code /sequences/{id}}: the sequence's progress on both paths (200).
     *
     * @param attentionStateBytes  null when the attention part is out of reach
     * @param attentionUnavailable why it is, written only then
     */
    @JsonPropertyOrder({"sequence_id", "tokens_seen", "attention_state_bytes", "attention_unavailable",
            "next_chunk_index", "closed", "rejected_reason", "mode"})
    record SequenceStatus(@JsonProperty("sequence_id") String sequenceId, @JsonProperty("tokens_seen") int tokensSeen,
                          @JsonProperty("attention_state_bytes") Long attentionStateBytes,
                          @JsonProperty("attention_unavailable") @JsonInclude(JsonInclude.Include.NON_NULL)
                          String attentionUnavailable,
                          @JsonProperty("next_chunk_index") int nextChunkIndex, boolean closed,
                          @JsonProperty("rejected_reason") String rejectedReason, String mode) {
    }

    /**
     * The ingest part: what the validator remembers of the sequence; only {@code known=false} when nothing.
     * Numbers and flags are boxed so that an unknown sequence leaves them out.
     */
    @JsonPropertyOrder({"known", "tokens_seen", "next_chunk_index", "closed", "rejected_reason"})
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record IngestPart(boolean known, @JsonProperty("tokens_seen") Integer tokensSeen,
                      @JsonProperty("next_chunk_index") Integer nextChunkIndex, Boolean closed,
                      @JsonProperty("rejected_reason") String rejectedReason) {

        /** The part for a sequence the store holds {@code p} for, or knows nothing of (null). */
        static IngestPart of(final SequenceProgress p) {
            return p == null ? new IngestPart(false, null, null, null, null)
                    : new IngestPart(true, p.tokensSeen(), p.nextChunkIndex(), p.closed(), p.rejectedReason());
        }
    }

    /** The attention part: bytes the attention path holds for the sequence. */
    record AttentionPart(@JsonProperty("attention_state_bytes") long attentionStateBytes) {
    }

    /** {@code body} as JSON. */
    static String write(final Object body) {
        try {
            return JSON.writeValueAsString(body);
        } catch (final JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + body + " as JSON", e);
        }
    }

    /** A body another instance wrote. */
    static <T> T read(final String json, final Class<T> type) throws JsonProcessingException {
        return JSON.readValue(json, type);
    }
}
