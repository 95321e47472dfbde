package dev.seqembed.config;

import java.util.Locale;

/** What the attention path does with a sequence longer than the model's positions (SPEC §4.2, §10.3). */
public enum AttentionOverflow {
    /** Dead-letter it ({@code SEQUENCE_TOO_LONG}), on both paths. */
    REJECT,
    /** Keep the first positions. */
    TRUNCATE,
    /** Encoder mode: embed overlapping windows of exactly the model's positions, one Embedding each. */
    WINDOW;

    /** Parses {@code reject} / {@code truncate} / {@code window}, case-insensitively. */
    public static AttentionOverflow parse(final String value) {
        final String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        for (final AttentionOverflow o : values()) {
            if (o.cliName().equals(v)) {
                return o;
            }
        }
        throw new ConfigException(SeqembedConfig.ATTENTION_OVERFLOW + " must be reject, truncate or window, got '"
                + value + "'");
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
