package dev.seqembed.processor;

import dev.seqembed.avro.TokenChunk;

/**
 * What the validator hands to the stateful processors of its sub-topology (in memory, never serialized).
 *
 * @param kind what happened
 * @param sequenceId the sequence it is about
 * @param chunk the validated chunk ({@link Kind#CHUNK} only)
 * @param deadLetter the rejected record ({@link Kind#REJECT} only)
 */
public record SequenceEvent(Kind kind, String sequenceId, TokenChunk chunk, DeadLetter deadLetter) {

    /** Event kinds. */
    public enum Kind {
        /** A valid chunk, in order: apply it. */
        CHUNK,
        /** The sequence was rejected or evicted: free its state, emit nothing more. */
        ABORT,
        /** A record for the dead-letter topic. */
        REJECT
    }

    public static SequenceEvent chunk(final TokenChunk chunk) {
        return new SequenceEvent(Kind.CHUNK, chunk.getSequenceId(), chunk, null);
    }

    public static SequenceEvent abort(final String sequenceId) {
        return new SequenceEvent(Kind.ABORT, sequenceId, null, null);
    }

    public static SequenceEvent reject(final DeadLetter deadLetter) {
        return new SequenceEvent(Kind.REJECT, null, null, deadLetter);
    }
}
