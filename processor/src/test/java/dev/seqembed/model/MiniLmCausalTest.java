package dev.seqembed.model;

import dev.seqembed.testing.MiniLm;
import dev.seqembed.testing.OnnxRuntimeEncoder;
import dev.seqembed.testing.VectorDistance;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The causal path on the real all-MiniLM-L6-v2: {@link BertModel#appendCausal} chunk by chunk against the KV
 * cache, up to all 512 positions, equals a causal forward of {@link Reference} (plain-Java, double precision, no
 * code shared with the model) on the same imported weights, to 1e-5 relative after every chunk.
 *
 * <p>Why the double-precision reference and not ONNX Runtime: the exported graph only takes a padding mask
 * ({@code attention_mask [batch, T]}, broadcast over query positions), so ONNX Runtime cannot run it causally
 * without editing the graph, and an edited graph would itself need checking. Running ONNX Runtime on each prefix
 * is no substitute either: a bidirectional forward over a prefix lets early tokens see later ones, which the
 * causal embedding must not. The reference applies the causal mask exactly, with the real weights (so MiniLM's
 * large outlier activations are part of the test), and in double, so the distance measured is seqembed's own
 * float32 error. The chain to ONNX Runtime is closed here too: the same reference run bidirectionally equals
 * ONNX Runtime on the source file, so the reference reads the weights as the graph does and differs from it only
 * by the mask.
 */
class MiniLmCausalTest {
    private static final double TOLERANCE = 1e-5;
    /** Chunk sizes of one 512-token sequence: single tokens, odd sizes, and large chunks late in the sequence. */
    private static final int[] CHUNKS = {1, 16, 7, 64, 3, 128, 16, 100, 177};

    private static BertModel model;
    private static Map<String, Tensor> weights;

    @BeforeAll
    static void load() throws Exception {
        model = BertModel.load(MiniLm.importedDir());
        final SafeTensors file = SafeTensors.read(MiniLm.importedDir().resolve("model.safetensors"));
        weights = new LinkedHashMap<>();
        for (final String name : file.names()) {
            weights.put(name, file.get(name));
        }
    }

    @Test
    void chunkedCausalEmbeddingEqualsTheDoublePrecisionCausalForwardAfterEveryChunk() {
        final int length = java.util.Arrays.stream(CHUNKS).sum();
        assertThat(length).isEqualTo(model.config().maxPositionEmbeddings());
        final int[] tokens = MiniLm.tokens(496, length);
        // One causal reference forward serves every prefix: row r of a causal forward depends on rows <= r only.
        final double[][] reference = Reference.bert(weights, "", model.config(), tokens, true);
        final KvCache cache = model.newCache();
        int start = 0;
        for (final int size : CHUNKS) {
            final int[] chunk = java.util.Arrays.copyOfRange(tokens, start, start + size);
            final float[] actual = model.appendCausal(cache, chunk, Pooling.MEAN, true);
            start += size;
            final double[] expected = Reference.pool(reference, start, Pooling.MEAN, true);
            final String what = "prefix " + start + " (chunk of " + size + ")";
            assertThat(VectorDistance.relativeL2(actual, expected)).as(what + ": relative L2 distance")
                    .isLessThanOrEqualTo(TOLERANCE);
            assertThat(VectorDistance.relativeMaxAbs(actual, expected)).as(what + ": largest component error / norm")
                    .isLessThanOrEqualTo(TOLERANCE);
        }
        assertThat(cache.length()).isEqualTo(length);
    }

    @Test
    void theSameChunksWaitingTogetherAsOneSegmentEqualTheReferenceAfterEveryChunk() {
        // What the causal micro-batch does with a sequence's waiting chunks: one 512-row segment from position 0,
        // attention in blocks of queries, each chunk pooled at its own end.
        final int[] tokens = MiniLm.tokens(497, model.config().maxPositionEmbeddings());
        final double[][] reference = Reference.bert(weights, "", model.config(), tokens, true);
        final KvCache cache = model.newCache();
        final KvCache[] caches = new KvCache[CHUNKS.length];
        final int[][] chunks = new int[CHUNKS.length][];
        int start = 0;
        for (int k = 0; k < CHUNKS.length; k++) {
            caches[k] = cache;
            chunks[k] = java.util.Arrays.copyOfRange(tokens, start, start + CHUNKS[k]);
            start += CHUNKS[k];
        }
        final float[][] actual = model.appendCausalBatch(caches, chunks, Pooling.MEAN, true);
        start = 0;
        for (int k = 0; k < CHUNKS.length; k++) {
            start += CHUNKS[k];
            final double[] expected = Reference.pool(reference, start, Pooling.MEAN, true);
            assertThat(VectorDistance.relativeL2(actual[k], expected)).as("prefix " + start + ": relative L2 distance")
                    .isLessThanOrEqualTo(TOLERANCE);
            assertThat(VectorDistance.relativeMaxAbs(actual[k], expected))
                    .as("prefix " + start + ": largest component error / norm").isLessThanOrEqualTo(TOLERANCE);
        }
        assertThat(cache.length()).isEqualTo(start);
    }

    @Test
    void theReferenceRunBidirectionallyEqualsOnnxRuntime() throws Exception {
        final int[] tokens = MiniLm.tokens(64, 64);
        final double[] reference = Reference.pool(Reference.bert(weights, "", model.config(), tokens, false),
                tokens.length, Pooling.MEAN, true);
        try (OnnxRuntimeEncoder peer = new OnnxRuntimeEncoder(MiniLm.onnxBytes(), 2)) {
            final double[] onnx = peer.embed(new int[][] {tokens})[0];
            final float[] onnxAsFloat = new float[onnx.length];
            for (int i = 0; i < onnx.length; i++) {
                onnxAsFloat[i] = (float) onnx[i];
            }
            assertThat(VectorDistance.relativeL2(onnxAsFloat, reference)).isLessThanOrEqualTo(TOLERANCE);
        }
    }
}
