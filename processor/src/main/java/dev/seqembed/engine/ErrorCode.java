package dev.seqembed.engine;

/** Why a record went to the dead-letter topic (SPEC §7); the name is the {@code seqembed.error.reason} header. */
public enum ErrorCode {
    /** The value is not a single-object encoded TokenChunk. */
    DESERIALIZATION,
    /** The chunk has no tokens (an empty {@code last} chunk closing a non-empty sequence is fine). */
    EMPTY_SEQUENCE,
    /** A token id is negative or not below the model's vocabulary size. */
    TOKEN_OUT_OF_RANGE,
    /** The sequence would exceed the attention model's positions ({@code attention.overflow=reject}). */
    SEQUENCE_TOO_LONG,
    /** The chunk index skips ahead of the next expected one. */
    CHUNK_OUT_OF_ORDER,
    /** The chunk index was already applied: dropped, not re-applied. */
    DUPLICATE_CHUNK,
    /** The sequence already ended with a {@code last} chunk. */
    CHUNK_AFTER_LAST,
    /** The record key differs from the chunk's sequence_id. */
    KEY_MISMATCH,
    /** The sequence's state would exceed {@code state.max-bytes-per-sequence}. */
    STATE_LIMIT,
    /** A causal sequence's KV cache was built by a model that is no longer loaded (SPEC §10.5): closed. */
    MODEL_CHANGED,
    /**
     * The record passed validation but failed later (a model error, a corrupt state entry): the sequence is closed
     * on the path that failed, its state freed, and the processor goes on (SPEC §10.6).
     */
    PROCESSING_ERROR
}
