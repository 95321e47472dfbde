package dev.seqembed.testing;

import java.util.Map;

import dev.seqembed.config.SeqembedConfig;

/** Topic settings that give a test's application its own input and output topics on a shared broker. */
public final class OwnTopics {

    private OwnTopics() {
    }

    /** tokens, DLQ, windows and both embedding topics, each named {@code <default name>-<suffix>}. */
    public static Map<String, String> named(final String suffix) {
        return Map.of(SeqembedConfig.TOPIC_TOKENS, "tokens-" + suffix,
                SeqembedConfig.TOPIC_DLQ, "tokens.dlq-" + suffix,
                SeqembedConfig.TOPIC_WINDOWS, "windows-" + suffix,
                SeqembedConfig.TOPIC_EMBEDDINGS_DENSE, "embeddings.dense-" + suffix,
                SeqembedConfig.TOPIC_EMBEDDINGS_ATTENTION, "embeddings.attention-" + suffix);
    }
}
