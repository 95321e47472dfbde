package dev.seqembed.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Shapes other than the fixtures' and defaults': a MiniLM-like head layout, head sizes and widths that are not
 * multiples of the vector lanes, odd window geometry. The fast paths (direct GEMM with leading dimensions,
 * unrolled Java kernels) must agree with the double-precision reference on all of them.
 */
class UnusualShapesTest {

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "hidden {0}, heads {1}, intermediate {2}, layers {3}, n {4}")
    @CsvSource({
        "384, 12, 1536, 2, 40",  // MiniLM-L6's layer shape
        "60, 5, 100, 2, 33",     // head size 12, widths not multiples of 8
        "7, 1, 9, 3, 11",        // one head, prime sizes
        "48, 3, 50, 1, 128"})    // positions up to the model's maximum
    void bertEncoderAndCausalMatchTheReference(final int hidden, final int heads, final int intermediate,
                                               final int layers, final int n) throws IOException {
        final BertConfig c = new BertConfig(301, hidden, layers, heads, intermediate, Activation.GELU, 128, 2, 1e-12f);
        final Map<String, Tensor> w = Fixtures.bertTensors(c, hidden * 31L + n, 0.15, "bert.");
        final BertModel model = BertModel.load(Fixtures.writeBert(tmp.resolve("bert"), c, w));
        final int[] tokens = Fixtures.tokens(n, n, c.vocabSize());
        final double[][] bidirectional = Reference.bert(w, "bert.", c, tokens, false);
        Reference.assertClose(model.encode(tokens, Pooling.MEAN, true), Reference.pool(bidirectional, n,
                Pooling.MEAN, true), 1e-4, "encoder");
        final KvCache cache = model.newCache();
        final int[] cuts = {0, 1, n / 3, n / 3 + 1, n};
        for (int i = 0; i + 1 < cuts.length; i++) {
            if (cuts[i + 1] <= cuts[i]) {
                continue;
            }
            final float[] v = model.appendCausal(cache, Arrays.copyOfRange(tokens, cuts[i], cuts[i + 1]),
                    Pooling.MEAN, true);
            final int[] prefix = Arrays.copyOf(tokens, cuts[i + 1]);
            Reference.assertClose(v, Reference.pool(Reference.bert(w, "bert.", c, prefix, true), prefix.length,
                    Pooling.MEAN, true), 1e-4, "causal prefix " + prefix.length);
        }
    }

    @ParameterizedTest(name = "d {0}, W {1}, S {2}, H {3}, O {4}, {5}")
    @CsvSource({"7, 5, 3, 33, 17, gelu", "1, 1, 1, 3, 2, relu", "13, 9, 9, 70, 5, tanh"})
    void denseMatchesTheReference(final int d, final int window, final int stride, final int hiddenSize,
                                  final int out, final String act) throws IOException {
        final WindowMlpConfig c = new WindowMlpConfig(97, d, window, stride, hiddenSize, out,
                Activation.fromConfig(act), act.equals("gelu"), 0);
        final Map<String, Tensor> w = Fixtures.denseTensors(c, d * 7L + window);
        final DenseWindowModel model = DenseWindowModel.load(Fixtures.writeDense(tmp.resolve("dense"), c, w));
        final int batch = 11;
        final int[][] windows = new int[batch][];
        final int[] valid = new int[batch];
        for (int b = 0; b < batch; b++) {
            windows[b] = Fixtures.tokens(b + 1, window, c.vocabSize());
            valid[b] = 1 + b % window;
            Arrays.fill(windows[b], valid[b], window, c.padTokenId());
        }
        final float[][] got = model.embedWindows(windows, valid);
        for (int b = 0; b < batch; b++) {
            Reference.assertClose(got[b], Reference.dense(w, c, windows[b], valid[b]), 1e-4, "window " + b);
        }
    }
}
