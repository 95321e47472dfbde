package dev.seqembed.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.seqembed.model.Activation;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.state.WindowBuffer;

class WindowSlicerTest {

    private static final int W = 16;
    private static final int S = 8;
    private static final int PAD = 0;
    private final WindowSlicer slicer = new WindowSlicer(
            new WindowMlpConfig(30522, 4, W, S, 8, 4, Activation.RELU, false, PAD));

    /** SPEC §4.1 written out directly: count, then window k = tokens[k*S, k*S+W) padded. */
    private static List<int[]> expected(final int[] tokens) {
        final int n = tokens.length;
        final int count = n <= W ? 1 : 1 + (n - W + S - 1) / S;
        final List<int[]> out = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            final int[] w = new int[W];
            Arrays.fill(w, PAD);
            for (int i = 0; i < W && k * S + i < n; i++) {
                w[i] = tokens[k * S + i];
            }
            out.add(w);
        }
        return out;
    }

    private static int[] seq(final int n) {
        final int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 100 + i;
        }
        return t;
    }

    @ParameterizedTest(name = "n={0}, chunk={1}")
    @CsvSource({"1,0", "5,0", "15,0", "16,0", "17,0", "24,0", "25,0", "100,0", "16,5", "17,1", "40,7", "40,8",
        "40,16", "41,3", "200,33"})
    void cutsLikeTheSpecWhateverTheChunking(final int n, final int chunk) {
        final int[] tokens = seq(n);
        final List<WindowSlicer.Slice> got = new ArrayList<>();
        WindowBuffer state = WindowBuffer.EMPTY;
        final int step = chunk == 0 ? n : chunk;
        for (int from = 0; from < n; from += step) {
            final boolean last = from + step >= n;
            final WindowSlicer.Result r = slicer.append(state, Arrays.copyOfRange(tokens, from, Math.min(n, from + step)),
                    last);
            got.addAll(r.windows());
            state = r.state();
            assertThat(state == null).isEqualTo(last);
        }
        final List<int[]> want = expected(tokens);
        assertThat(got).hasSize(want.size());
        for (int k = 0; k < want.size(); k++) {
            final WindowSlicer.Slice s = got.get(k);
            assertThat(s.index()).isEqualTo(k);
            assertThat(s.start()).isEqualTo(k * S);
            assertThat(s.tokens()).containsExactly(want.get(k));
            assertThat(s.valid()).isEqualTo(Math.min(W, n - k * S));
            assertThat(s.fin()).isEqualTo(k == want.size() - 1);
        }
    }

    @ParameterizedTest(name = "n={0}")
    @CsvSource({"3", "16", "17"})
    void holdsAFullWindowUntilItIsKnownWhetherItIsTheLast(final int n) {
        final WindowSlicer.Result open = slicer.append(WindowBuffer.EMPTY, seq(n), false);
        // No window can be final before `last`, and none is emitted unless a token lies beyond it.
        assertThat(open.windows()).hasSize(n > W ? 1 : 0);
        assertThat(open.windows()).noneMatch(WindowSlicer.Slice::fin);
        final WindowSlicer.Result closed = slicer.append(open.state(), new int[0], true);
        assertThat(closed.windows()).hasSize(1);
        assertThat(closed.windows().get(0).fin()).isTrue();
    }

    @ParameterizedTest(name = "n={0}")
    @CsvSource({"8", "30", "64"})
    void keepsOnlyTheTailOfTheSequence(final int n) {
        final WindowSlicer.Result r = slicer.append(WindowBuffer.EMPTY, seq(n), false);
        assertThat(r.state().tokens().length).isLessThanOrEqualTo(W);
        assertThat(r.state().bufferStart() + r.state().tokens().length).isEqualTo(n);
    }
}
