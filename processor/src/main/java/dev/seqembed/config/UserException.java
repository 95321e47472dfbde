package dev.seqembed.config;

/** A mistake the user can fix; the command prints its message on one line and exits with code 2. */
public final class UserException extends RuntimeException {
    public UserException(final String message) {
        super(message);
    }
}
