package dev.seqembed.model;

import java.util.Objects;

/**
 * Hugging Face BERT configuration (SPEC §4.2, {@code "model_type": "bert"}).
 */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int intermediateSize, Activation hiddenAct, int maxPositionEmbeddings,
                         int typeVocabSize, float layerNormEps) {

    /** The Hugging Face default when {@code layer_norm_eps} is absent. */
    public static final float DEFAULT_LAYER_NORM_EPS = 1e-12f;

    public BertConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("intermediate_size", intermediateSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        positive("type_vocab_size", typeVocabSize);
        Objects.requireNonNull(hiddenAct, "hidden_act");
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize
                    + " is not a multiple of num_attention_heads " + numAttentionHeads);
        }
        if (!(layerNormEps > 0f) || Float.isInfinite(layerNormEps)) {
            throw new IllegalArgumentException("layer_norm_eps must be > 0, got " + layerNormEps);
        }
    }

    private static void positive(final String key, final int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be > 0, got " + value);
        }
    }

    /** Size of one attention head. */
    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }

    /**
     * Analytic FLOPs (SPEC §6) of {@code newTokens} (m) tokens attending to {@code totalTokens} (c) tokens,
     * summed over layers: L * (2*m*(4*h*h + 2*h*i) + 4*m*c*h). Embeddings, LayerNorm and softmax are not counted.
     */
    public long flops(final int newTokens, final int totalTokens) {
        if (newTokens < 0 || totalTokens < newTokens) {
            throw new IllegalArgumentException("need 0 <= newTokens <= totalTokens, got " + newTokens + ", " + totalTokens);
        }
        final long m = newTokens;
        final long c = totalTokens;
        final long h = hiddenSize;
        final long i = intermediateSize;
        return numHiddenLayers * (2 * m * (4 * h * h + 2 * h * i) + 4 * m * c * h);
    }
}
