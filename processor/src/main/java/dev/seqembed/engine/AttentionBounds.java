package dev.seqembed.engine;

import java.util.Arrays;

import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.AttentionOverflow;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.KvCache;
import dev.seqembed.state.TokenBuffer;

/**
 * The attention path's bounds on a sequence, in one place for the validator, both attention processors and the
 * offline {@code embed}: the model's positions (what {@code attention.overflow=truncate} keeps, or the windows of
 * {@code attention.overflow=window}) and the state a sequence of n tokens holds (what
 * {@code state.max-bytes-per-sequence} limits).
 */
public final class AttentionBounds {

    private AttentionBounds() {
    }

    /**
     * The tokens of {@code added} that still fit after {@code before} tokens in a model of {@code positions}
     * positions; truncation drops the rest.
     */
    public static int[] fitting(final int[] added, final int before, final int positions) {
        final int keep = Math.min(added.length, Math.max(0, positions - before));
        return keep == added.length ? added : Arrays.copyOf(added, keep);
    }

    /**
     * The tokens of {@code added} an encoder sequence keeps after {@code before} tokens: all of them when it is
     * embedded as windows ({@code windowStride} &gt; 0), else those that {@link #fitting fit}.
     */
    public static int[] kept(final int[] added, final int before, final int positions, final int windowStride) {
        return windowStride > 0 ? added : fitting(added, before, positions);
    }

    /**
     * The window stride of the encoder under {@code attention.overflow=window}, else 0 (no windows). Validated
     * against the model's positions here, at start.
     */
    public static int windowStride(final SeqembedConfig config, final int positions) {
        return config.attentionOverflow() == AttentionOverflow.WINDOW ? config.attentionWindowStride(positions) : 0;
    }

    /**
     * Bytes of attention state a sequence of {@code tokens} tokens holds, as its Embedding's
     * {@code metrics.state_bytes} reports them: the token buffer (encoder) or the K/V cache (causal).
     */
    public static long stateBytes(final AttentionMode mode, final BertConfig bert, final long tokens) {
        return mode == AttentionMode.CAUSAL
                ? KvCache.sizeBytes(bert.numHiddenLayers(), bert.hiddenSize(), tokens)
                : TokenBuffer.sizeBytes(tokens);
    }

    /**
     * The most state a sequence may hold: {@code state.max-bytes-per-sequence}, and under
     * {@code attention.overflow=window} in encoder mode at most {@link TokenBuffer#MAX_BYTES}, since a windowed
     * encoder buffer holds the whole sequence in one changelog record (causal caches are stored in blocks).
     */
    public static long maxStateBytes(final SeqembedConfig config) {
        final boolean windowed = config.attentionMode() == AttentionMode.ENCODER
                && config.attentionOverflow() == AttentionOverflow.WINDOW;
        return windowed ? Math.min(config.stateMaxBytesPerSequence(), TokenBuffer.MAX_BYTES)
                : config.stateMaxBytesPerSequence();
    }
}
