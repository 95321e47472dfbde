package dev.seqembed.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.seqembed.avro.WindowRecord;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.state.WindowBuffer;

/**
 * Cuts a sequence that arrives in chunks into the dense model's windows (SPEC §4.1): window k covers
 * tokens [k*S, k*S+W), padded to W; windows span chunk boundaries. The same code serves the streaming
 * windower and the offline {@code embed} command, so both cut identically.
 *
 * <p>A full window is held back until a token beyond it arrives or the sequence ends: only then is it known
 * whether it is the sequence's last window, which must carry {@code final = true}.
 */
public final class WindowSlicer {

    /** One window ready for the dense model. */
    public record Slice(int index, int start, int[] tokens, int valid, boolean fin) {

        /** The window as the record of the {@code windows} topic. */
        public WindowRecord toRecord(final String sequenceId, final long ingestTimeMs) {
            return WindowRecord.newBuilder()
                    .setSequenceId(sequenceId)
                    .setWindowIndex(index)
                    .setStart(start)
                    .setTokens(Arrays.stream(tokens).boxed().toList())
                    .setValid(valid)
                    .setFinal$(fin)
                    .setIngestTimeMs(ingestTimeMs)
                    .build();
        }
    }

    /** The windows an append completed and the state to keep (null once the sequence ended). */
    public record Result(List<Slice> windows, WindowBuffer state) {
    }

    private final int window;
    private final int stride;
    private final int padTokenId;

    public WindowSlicer(final WindowMlpConfig config) {
        if (config.stride() < 1 || config.stride() > config.window()) {
            throw new IllegalArgumentException("window-mlp stride must be in [1, window], got stride "
                    + config.stride() + " for window " + config.window());
        }
        this.window = config.window();
        this.stride = config.stride();
        this.padTokenId = config.padTokenId();
    }

    /**
     * Appends one chunk's tokens.
     *
     * @param state the sequence's state so far ({@link WindowBuffer#EMPTY} for a new sequence)
     * @param tokens the chunk's tokens
     * @param last whether this chunk ends the sequence
     */
    public Result append(final WindowBuffer state, final int[] tokens, final boolean last) {
        final int[] buffer = concat(state.tokens(), tokens);
        final int bufferStart = state.bufferStart();
        final int seen = bufferStart + buffer.length;
        int index = state.nextWindowIndex();
        int start = index * stride;
        final List<Slice> out = new ArrayList<>();
        while (seen > start + window) {
            out.add(slice(buffer, bufferStart, index, start, window, false));
            index++;
            start += stride;
        }
        if (last) {
            out.add(slice(buffer, bufferStart, index, start, seen - start, true));
            return new Result(out, null);
        }
        final int keepFrom = Math.min(start - bufferStart, buffer.length);
        return new Result(out, new WindowBuffer(index, bufferStart + keepFrom,
                Arrays.copyOfRange(buffer, keepFrom, buffer.length)));
    }

    /** All windows of a whole sequence at once. */
    public List<Slice> slice(final int[] tokens) {
        return append(WindowBuffer.EMPTY, tokens, true).windows();
    }

    private Slice slice(final int[] buffer, final int bufferStart, final int index, final int start, final int valid,
                        final boolean fin) {
        final int[] w = new int[window];
        Arrays.fill(w, padTokenId);
        System.arraycopy(buffer, start - bufferStart, w, 0, valid);
        return new Slice(index, start, w, valid, fin);
    }

    private static int[] concat(final int[] a, final int[] b) {
        final int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
