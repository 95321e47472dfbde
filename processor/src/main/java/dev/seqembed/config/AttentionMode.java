package dev.seqembed.config;

import java.util.Locale;

/** How the attention path treats a sequence (SPEC §4.2). */
public enum AttentionMode {
    /** Buffer chunks until {@code last}, then one bidirectional forward. */
    ENCODER,
    /** Process each chunk on arrival against the sequence's KV cache. */
    CAUSAL;

    /** Parses {@code encoder} / {@code causal}, case-insensitively. */
    public static AttentionMode parse(final String value) {
        final String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "encoder":
                return ENCODER;
            case "causal":
                return CAUSAL;
            default:
                throw new ConfigException("attention.mode must be encoder or causal, got '" + value + "'");
        }
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
