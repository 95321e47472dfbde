package dev.seqembed.config;

/** A setting has a value seqembed cannot use; the message names the key and what is expected. */
public final class ConfigException extends RuntimeException {
    public ConfigException(final String message) {
        super(message);
    }
}
