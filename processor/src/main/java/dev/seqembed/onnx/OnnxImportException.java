package dev.seqembed.onnx;

import java.io.IOException;

/**
 * An ONNX file that cannot be imported: not readable as ONNX, not one {@code .onnx} in a jar, or a graph that
 * does not map to SPEC §4.2's BERT layout. The message names what is missing or wrong, in one line, so that the
 * command can print it as a user error.
 */
public final class OnnxImportException extends IOException {
    private static final long serialVersionUID = 1L;

    public OnnxImportException(final String message) {
        super(message);
    }

    public OnnxImportException(final String message, final Throwable cause) {
        super(message, cause);
    }
}
