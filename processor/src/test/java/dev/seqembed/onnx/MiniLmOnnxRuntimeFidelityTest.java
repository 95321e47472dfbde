package dev.seqembed.onnx;

import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.testing.MiniLm;
import dev.seqembed.testing.OnnxRuntimeEncoder;
import dev.seqembed.testing.VectorDistance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The imported all-MiniLM-L6-v2 embeds like ONNX Runtime on the source ONNX file (SPEC §10.1): same token ids,
 * mean pooling + L2 on both sides, at most 1e-5 relative (L2 distance and largest component error, each over
 * the expected vector's norm). Lengths sample 1..512 where the kernels change behaviour (tiny, around powers of
 * two, the maximum) plus random lengths, one by one and as one packed batch of mixed lengths; every length from 1
 * to 512 is {@link MiniLmFullSweepTest}'s job.
 */
class MiniLmOnnxRuntimeFidelityTest {
    static final double TOLERANCE = 1e-5;

    private static BertModel seqembed;
    private static OnnxRuntimeEncoder onnxRuntime;
    /** The largest relative L2 distance seen, printed at the end (the margin below the tolerance). */
    private static double worst;

    @BeforeAll
    static void load() throws Exception {
        seqembed = BertModel.load(MiniLm.importedDir());
        onnxRuntime = new OnnxRuntimeEncoder(MiniLm.onnxBytes(), 2);
    }

    @AfterAll
    static void close() throws Exception {
        if (onnxRuntime != null) {
            onnxRuntime.close();
        }
        System.out.printf("MiniLM vs ONNX Runtime: largest relative L2 distance %.2e (tolerance %.0e)%n", worst,
                TOLERANCE);
    }

    @Test
    void importGivesMiniLmsConfigAndItsTokenizer() throws Exception {
        final BertConfig c = seqembed.config();
        assertThat(c).isEqualTo(new BertConfig(30522, 384, 6, 12, 1536, dev.seqembed.model.Activation.GELU, 512, 2,
                1e-12f));
        final Path tokenizer = MiniLm.importedDir().resolve(OnnxImporter.TOKENIZER);
        assertThat(tokenizer).exists();
        assertThat(Files.readString(tokenizer)).contains("\"[CLS]\"").contains("WordPiece");
    }

    @ParameterizedTest(name = "T = {0}")
    @ValueSource(ints = {1, 2, 3, 7, 16, 31, 64, 127, 128, 255, 384, 511, 512})
    void encoderEqualsOnnxRuntime(final int length) throws Exception {
        assertSame(MiniLm.tokens(length, length), "T=" + length);
    }

    @Test
    void randomLengthsEqualOnnxRuntime() throws Exception {
        final SplittableRandom rnd = new SplittableRandom(20261201L);
        for (int k = 0; k < 4; k++) {
            final int length = 1 + rnd.nextInt(512);
            assertSame(MiniLm.tokens(1000 + k, length), "random T=" + length);
        }
    }

    @Test
    void packedBatchOfMixedLengthsEqualsOnnxRuntime() throws Exception {
        final int[] lengths = {1, 7, 31, 128, 3, 64, 255, 16};
        final int[][] batch = new int[lengths.length][];
        for (int s = 0; s < lengths.length; s++) {
            batch[s] = MiniLm.tokens(500 + s, lengths[s]);
        }
        final float[][] packed = seqembed.encodeBatch(batch, Pooling.MEAN, true);
        assertThat(packed.length).isEqualTo(batch.length);
        for (int s = 0; s < batch.length; s++) {
            final double[] expected = onnxRuntime.embed(new int[][] {batch[s]})[0];
            final double distance = VectorDistance.relativeL2(packed[s], expected);
            worst = Math.max(worst, distance);
            assertThat(distance).as("sequence %d of the batch (T=%d)", s, lengths[s]).isLessThanOrEqualTo(TOLERANCE);
            assertThat(VectorDistance.relativeMaxAbs(packed[s], expected)).as("sequence %d: largest component", s)
                    .isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /** Asserts seqembed's encoder embedding of {@code tokens} equals ONNX Runtime's within {@link #TOLERANCE}. */
    static void assertSame(final int[] tokens, final String what) throws Exception {
        assertSame(seqembed, onnxRuntime, tokens, what);
    }

    static void assertSame(final BertModel model, final OnnxRuntimeEncoder peer, final int[] tokens,
                           final String what) throws Exception {
        final double[] expected = peer.embed(new int[][] {tokens})[0];
        final float[] actual = model.encode(tokens, Pooling.MEAN, true);
        final double distance = VectorDistance.relativeL2(actual, expected);
        worst = Math.max(worst, distance);
        assertThat(distance).as(what + ": relative L2 distance")
                .isLessThanOrEqualTo(TOLERANCE);
        assertThat(VectorDistance.relativeMaxAbs(actual, expected)).as(what + ": largest component error / norm")
                .isLessThanOrEqualTo(TOLERANCE);
    }
}
