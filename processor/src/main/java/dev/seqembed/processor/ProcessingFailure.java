package dev.seqembed.processor;

import java.util.List;

import org.apache.kafka.streams.errors.StreamsException;

import dev.seqembed.avro.TokenChunk;

/**
 * A record, or a batch, that failed after validation (a model error, a corrupt state entry). The processor that
 * throws it has already freed the sequence's state; {@link ProcessingErrorHandler} dead-letters the records with
 * reason {@link dev.seqembed.engine.ErrorCode#PROCESSING_ERROR} and Kafka Streams goes on with the next record.
 */
public final class ProcessingFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What to dead-letter instead of the record being processed; empty = that record's original bytes. */
    private final transient List<DeadLetter> deadLetters;

    /** The record being processed goes to the dead-letter topic. */
    public ProcessingFailure(final String message, final Throwable cause) {
        this(message, cause, List.of());
    }

    /** These records go to the dead-letter topic (e.g. the windows of a dense batch that failed). */
    public ProcessingFailure(final String message, final Throwable cause, final List<DeadLetter> deadLetters) {
        super(message, cause);
        this.deadLetters = List.copyOf(deadLetters);
    }

    /**
     * A chunk that failed in {@code where} (a processor), the sequence's state already freed and the sequence
     * closed: "sequence 'id' chunk n (where): cause".
     */
    static ProcessingFailure ofChunk(final TokenChunk chunk, final String where, final RuntimeException cause) {
        return new ProcessingFailure("sequence '" + chunk.getSequenceId() + "' chunk " + chunk.getChunkIndex() + " ("
                + where + "): " + describe(cause), cause);
    }

    public List<DeadLetter> deadLetters() {
        return deadLetters;
    }

    /**
     * Kafka Streams' own exceptions (a task migrated, a store or producer failing) are not about one record:
     * they must reach Kafka Streams unchanged, never be dead-lettered.
     */
    public static boolean isKafkaStreamsOwn(final RuntimeException e) {
        return e instanceof StreamsException;
    }

    /**
     * One line saying what failed: a ProcessingFailure's own message (it names the sequence and the cause), else
     * "IllegalStateException: message" and, when it says more, the root cause's.
     */
    public static String describe(final Throwable e) {
        if (e instanceof ProcessingFailure) {
            return e.getMessage();
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        final String outer = e.getClass().getSimpleName() + ": " + e.getMessage();
        final String inner = root.getClass().getSimpleName() + ": " + root.getMessage();
        return root == e || outer.contains(String.valueOf(root.getMessage())) ? outer
                : outer + " (caused by " + inner + ")";
    }
}
