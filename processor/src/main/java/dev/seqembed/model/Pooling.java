package dev.seqembed.model;

import java.util.Locale;

/** How final hidden states become one vector: the mean over all covered tokens, or the first token's. */
public enum Pooling {
    MEAN, CLS;

    /** Parses {@code mean} / {@code cls} (case-insensitive). */
    public static Pooling fromConfig(final String value) {
        if (value == null) {
            throw new IllegalArgumentException("pooling must be mean or cls, got null");
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "mean" -> MEAN;
            case "cls" -> CLS;
            default -> throw new IllegalArgumentException("pooling must be mean or cls, got '" + value + "'");
        };
    }
}
