package dev.seqembed.model;

import java.io.IOException;

/**
 * A model directory could not be loaded: a missing file or config key, a bad {@code model_type},
 * an unsupported dtype, or a tensor that is missing or has the wrong shape. The message names the
 * offending item (and, for shapes, the expected and the actual shape) so that a user can fix the
 * checkpoint without reading code.
 */
public final class ModelLoadException extends IOException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(final String message) {
        super(message);
    }

    public ModelLoadException(final String message, final Throwable cause) {
        super(message, cause);
    }
}
