package dev.seqembed.config;

import java.util.Locale;

/**
 * Which of the processor's two Kafka Streams clients an instance runs (SPEC §10.4), so that the attention path can
 * scale apart from ingest and dense.
 */
public enum Role {
    /** Both clients in one process. */
    ALL,
    /** Validation, dead letters, windower and dense path: the client {@code <app-id>}. */
    INGEST,
    /** The attention client only ({@code <app-id>-attention}, reading the internal chunks topic). */
    ATTENTION;

    /** Parses {@code all} / {@code ingest} / {@code attention}, case-insensitively. */
    public static Role parse(final String value) {
        final String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        for (final Role r : values()) {
            if (r.cliName().equals(v)) {
                return r;
            }
        }
        throw new ConfigException("role must be all, ingest or attention, got '" + value + "'");
    }

    public boolean runsIngest() {
        return this != ATTENTION;
    }

    public boolean runsAttention() {
        return this != INGEST;
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
