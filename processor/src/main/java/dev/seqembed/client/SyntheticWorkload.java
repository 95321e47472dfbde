package dev.seqembed.client;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic sample sequences for {@code demo} and {@code produce --synthetic}: lengths spread
 * log-uniformly between a few tokens and several hundred, so both cheap and expensive sequences appear.
 */
public final class SyntheticWorkload {

    private SyntheticWorkload() {
    }

    /**
     * Generates sequences.
     *
     * @param count how many
     * @param minLength shortest length
     * @param maxLength longest length
     * @param vocabSize token ids are drawn from [1000, vocabSize) (WordPiece's ordinary word range)
     * @param seed the random seed; the same seed gives the same sequences
     * @param prefix sequence ids are prefix + number
     */
    public static List<SequenceInput> generate(final int count, final int minLength, final int maxLength,
                                               final int vocabSize, final long seed, final String prefix) {
        final SplittableRandom random = new SplittableRandom(seed);
        final List<SequenceInput> out = new ArrayList<>(count);
        final double lo = Math.log(minLength);
        final double hi = Math.log(maxLength + 1);
        final int base = Math.min(1000, vocabSize / 2);
        for (int i = 0; i < count; i++) {
            final int n = Math.max(minLength, Math.min(maxLength, (int) Math.exp(lo + random.nextDouble() * (hi - lo))));
            final int[] tokens = new int[n];
            for (int j = 0; j < n; j++) {
                tokens[j] = base + random.nextInt(vocabSize - base);
            }
            out.add(new SequenceInput(prefix + i, tokens));
        }
        return out;
    }
}
