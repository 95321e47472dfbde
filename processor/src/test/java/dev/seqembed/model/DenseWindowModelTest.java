package dev.seqembed.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DenseWindowModelTest {
    @TempDir
    Path tmp;

    private static WindowMlpConfig config(final Activation act, final boolean normalize) {
        return new WindowMlpConfig(50, 4, 5, 3, 12, 6, act, normalize, 0);
    }

    @ParameterizedTest
    @CsvSource({"GELU,true", "GELU,false", "RELU,true", "TANH,false"})
    void batchMatchesReference(final Activation act, final boolean normalize) throws IOException {
        final WindowMlpConfig c = config(act, normalize);
        final Map<String, Tensor> t = Fixtures.denseTensors(c, 11);
        final DenseWindowModel model = DenseWindowModel.load(Fixtures.writeDense(tmp.resolve("m"), c, t));
        assertThat(model.config()).isEqualTo(c);
        final int batch = 9;
        final int[][] tokens = new int[batch][];
        final int[] valid = new int[batch];
        for (int b = 0; b < batch; b++) {
            tokens[b] = Fixtures.tokens(100 + b, c.window(), c.vocabSize());
            valid[b] = b % (c.window() + 1); // 0..W, including an all-pad window
        }
        final float[][] out = model.embedWindows(tokens, valid);
        assertThat(out).hasNumberOfRows(batch);
        for (int b = 0; b < batch; b++) {
            Reference.assertClose(out[b], Reference.dense(t, c, tokens[b], valid[b]), 1e-4, "window " + b);
        }
    }

    @Test
    void maskIsPositionBasedNotTokenBased() throws IOException {
        final WindowMlpConfig c = config(Activation.GELU, true);
        final Map<String, Tensor> t = Fixtures.denseTensors(c, 12);
        final DenseWindowModel model = DenseWindowModel.load(Fixtures.writeDense(tmp.resolve("m"), c, t));
        final int[] padded = {7, 8, 9, 0, 0};
        final int[] garbageTail = {7, 8, 9, 42, 13};
        final int[] padIdInside = {7, 0, 9, 0, 0};
        final float[][] out = model.embedWindows(new int[][] {padded, garbageTail, padIdInside, padIdInside},
                new int[] {3, 3, 3, 1});
        // ids after `valid` are ignored whatever they are
        assertThat(out[1]).containsExactly(out[0]);
        // the pad id inside the valid range is embedded like any token
        Reference.assertClose(out[2], Reference.dense(t, c, padIdInside, 3), 1e-4, "pad id inside");
        assertThat(out[2]).isNotEqualTo(out[0]);
        Reference.assertClose(out[3], Reference.dense(t, c, padIdInside, 1), 1e-4, "valid 1");
        final double[] masked = Reference.dense(t, c, new int[] {7, 0, 0, 0, 0}, 1);
        Reference.assertClose(out[3], masked, 1e-4, "valid 1 equals explicit pad");
    }

    @ParameterizedTest
    @CsvSource({"3", "5", "6", "8", "9", "17"})
    void sequenceWindowsCoverEveryTokenAndMatchReference(final int n) throws IOException {
        final WindowMlpConfig c = config(Activation.GELU, true); // W 5, S 3
        final Map<String, Tensor> t = Fixtures.denseTensors(c, 13);
        final DenseWindowModel model = DenseWindowModel.load(Fixtures.writeDense(tmp.resolve("m"), c, t));
        final int[] seq = Fixtures.tokens(n, n, c.vocabSize());
        final int count = c.windowCount(n);
        final int[][] windows = new int[count][];
        final int[] valid = new int[count];
        for (int k = 0; k < count; k++) {
            windows[k] = c.windowTokens(seq, k);
            valid[k] = c.windowValid(n, k);
            for (int i = 0; i < valid[k]; i++) {
                assertThat(windows[k][i]).isEqualTo(seq[c.windowStart(k) + i]);
            }
            for (int i = valid[k]; i < c.window(); i++) {
                assertThat(windows[k][i]).isEqualTo(c.padTokenId());
            }
        }
        // the last window ends exactly at the last token, and earlier ones are full
        assertThat(c.windowStart(count - 1) + valid[count - 1]).isEqualTo(n);
        for (int k = 0; k < count - 1; k++) {
            assertThat(valid[k]).isEqualTo(c.window());
        }
        final float[][] out = model.embedWindows(windows, valid);
        for (int k = 0; k < count; k++) {
            Reference.assertClose(out[k], Reference.dense(t, c, windows[k], valid[k]), 1e-4, "window " + k);
            // a window's embedding does not depend on its batch
            Reference.assertClose(model.embedWindow(windows[k], valid[k]), Reference.dense(t, c, windows[k], valid[k]),
                    1e-4, "single window " + k);
        }
    }

    @Test
    void rejectsBadInput() throws IOException {
        final WindowMlpConfig c = config(Activation.RELU, false);
        final DenseWindowModel model = DenseWindowModel.load(
                Fixtures.writeDense(tmp.resolve("m"), c, Fixtures.denseTensors(c, 1)));
        assertThatThrownBy(() -> model.embedWindows(new int[][] {{1, 2, 3}}, new int[] {3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must have 5 tokens");
        assertThatThrownBy(() -> model.embedWindows(new int[][] {{1, 2, 50, 0, 0}}, new int[] {3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token id 50");
        assertThatThrownBy(() -> model.embedWindows(new int[][] {{1, 2, 3, 0, 0}}, new int[] {6}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid 6");
        assertThat(model.embedWindows(new int[0][], new int[0])).isEmpty();
    }

    @Test
    void idAndShaDescribeTheDirectory() throws IOException {
        final WindowMlpConfig c = config(Activation.RELU, false);
        final Path dir = Fixtures.writeDense(tmp.resolve("my-dense"), c, Fixtures.denseTensors(c, 1));
        final DenseWindowModel model = DenseWindowModel.load(dir);
        assertThat(model.id()).isEqualTo("my-dense");
        assertThat(model.sha256()).isEqualTo(ModelFiles.sha256(
                java.nio.file.Files.readAllBytes(dir.resolve("model.safetensors"))));
        assertThat(model.sha256()).hasSize(64).matches("[0-9a-f]+");
    }
}
