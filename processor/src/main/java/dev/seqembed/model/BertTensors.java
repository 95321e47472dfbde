package dev.seqembed.model;

/**
 * Hugging Face {@code BertModel} tensor names (without the optional {@code bert.} prefix, which
 * {@link BertModel#load} detects).
 */
public final class BertTensors {
    public static final String PREFIX = "bert.";
    public static final String WORD_EMBEDDINGS = "embeddings.word_embeddings.weight";
    public static final String POSITION_EMBEDDINGS = "embeddings.position_embeddings.weight";
    public static final String TOKEN_TYPE_EMBEDDINGS = "embeddings.token_type_embeddings.weight";
    public static final String EMBEDDINGS_LN_WEIGHT = "embeddings.LayerNorm.weight";
    public static final String EMBEDDINGS_LN_BIAS = "embeddings.LayerNorm.bias";

    private BertTensors() {
    }

    /** {@code encoder.layer.<i>.<suffix>}, e.g. {@code layer(3, "attention.self.query.weight")}. */
    public static String layer(final int i, final String suffix) {
        return "encoder.layer." + i + "." + suffix;
    }

    public static final String QUERY = "attention.self.query";
    public static final String KEY = "attention.self.key";
    public static final String VALUE = "attention.self.value";
    public static final String ATTENTION_OUTPUT = "attention.output.dense";
    public static final String ATTENTION_LN = "attention.output.LayerNorm";
    public static final String INTERMEDIATE = "intermediate.dense";
    public static final String OUTPUT = "output.dense";
    public static final String OUTPUT_LN = "output.LayerNorm";
}
