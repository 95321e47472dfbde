package dev.seqembed.engine;

import java.util.function.LongUnaryOperator;

import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.AttentionOverflow;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.BertConfig;

/**
 * What makes a chunk acceptable, derived from the models and settings at start-up.
 *
 * @param vocabSize token ids must be in [0, vocabSize) (the smaller vocabulary of the two models)
 * @param maxTokens longest sequence accepted; longer ones are rejected with SEQUENCE_TOO_LONG
 * @param stateBytesForTokens the attention state a sequence of n tokens needs
 * @param maxStateBytes limit of that state per sequence (STATE_LIMIT above it)
 * @param idleTimeoutMs sequences without a chunk for this long are evicted
 */
public record ValidationRules(int vocabSize, int maxTokens, LongUnaryOperator stateBytesForTokens,
                              long maxStateBytes, long idleTimeoutMs) {

    /**
     * The rules every sequence must meet: the attention model's positions (under {@code attention.overflow=reject})
     * and its state limit ({@link AttentionBounds}) bound both paths, so a record is either processed by both or
     * dead-lettered.
     *
     * @param vocabSize the smaller vocabulary of the models the sequence goes to
     */
    public static ValidationRules forAttention(final SeqembedConfig config, final BertConfig bert,
                                               final int vocabSize) {
        final AttentionMode mode = config.attentionMode();
        return new ValidationRules(vocabSize,
                config.attentionOverflow() == AttentionOverflow.REJECT ? bert.maxPositionEmbeddings()
                        : Integer.MAX_VALUE,
                tokens -> AttentionBounds.stateBytes(mode, bert, tokens),
                AttentionBounds.maxStateBytes(config),
                config.stateIdleTimeoutMs());
    }

    /** A broken rule: the code and a message naming the sequence and what was wrong. */
    public record Violation(ErrorCode code, String message) {
    }

    /**
     * Checks tokens arriving after {@code seen} earlier ones (the order of SPEC §7: empty, range, length, state).
     *
     * @param endsNonEmpty an empty chunk is fine when it only closes a sequence that has tokens
     * @return the first broken rule, or null
     */
    public Violation check(final String sequenceId, final int[] tokens, final int seen, final boolean endsNonEmpty) {
        if (tokens.length == 0 && !(endsNonEmpty && seen > 0)) {
            return new Violation(ErrorCode.EMPTY_SEQUENCE, "sequence '" + sequenceId + "': chunk has no tokens");
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabSize) {
                return new Violation(ErrorCode.TOKEN_OUT_OF_RANGE, "sequence '" + sequenceId + "': token "
                        + tokens[i] + " at position " + (seen + i) + " is outside [0, " + vocabSize + ")");
            }
        }
        final int total = seen + tokens.length;
        if (total > maxTokens) {
            return new Violation(ErrorCode.SEQUENCE_TOO_LONG, "sequence '" + sequenceId + "' reaches " + total
                    + " tokens, more than the " + maxTokens + " allowed");
        }
        final long bytes = stateBytesForTokens.applyAsLong(total);
        if (bytes > maxStateBytes) {
            return new Violation(ErrorCode.STATE_LIMIT, "sequence '" + sequenceId + "' would hold " + bytes
                    + " bytes of state, above the limit of " + maxStateBytes + " per sequence "
                    + "(state.max-bytes-per-sequence; a windowed encoder buffer also fits one changelog record)");
        }
        return null;
    }
}
