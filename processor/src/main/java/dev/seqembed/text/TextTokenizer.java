package dev.seqembed.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import dev.seqembed.config.UserException;

/**
 * A Hugging Face {@code tokenizer.json} applied as the model was trained (SPEC §10.2): the file's normaliser,
 * pre-tokeniser, model and post-processor (so its special tokens, e.g. {@code [CLS] … [SEP]}), but never its
 * truncation or padding, whatever the file asks for: long inputs are the attention path's business (§10.3), and
 * a pad token would be embedded like any other token.
 *
 * <p>The tokenizer is the Rust library behind DJL's binding; its native library is extracted from the jar on first
 * use into a cache directory ({@link #CACHE_DIR_PROPERTY}).
 */
public final class TextTokenizer implements AutoCloseable {

    /** The file name looked up when the path given is a directory. */
    public static final String FILE_NAME = "tokenizer.json";

    /** DJL's setting for where it extracts native libraries (read as a system property or environment variable). */
    public static final String CACHE_DIR_PROPERTY = "ENGINE_CACHE_DIR";

    private static final String DJL_CACHE_DIR = "DJL_CACHE_DIR";

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;

    private TextTokenizer(final HuggingFaceTokenizer tokenizer, final Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /**
     * Loads a tokenizer.
     *
     * @param path a {@code tokenizer.json} or a directory holding one
     * @param nativeCacheDir where the native library is extracted unless {@value #CACHE_DIR_PROPERTY} or
     *                       {@code DJL_CACHE_DIR} is set (DJL's own default would be {@code ~/.djl.ai})
     * @throws UserException if there is no such file or it is not a tokenizer
     */
    public static TextTokenizer load(final Path path, final Path nativeCacheDir) {
        final Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.isRegularFile(file)) {
            throw new UserException("no " + FILE_NAME + " at " + path);
        }
        useCacheDir(nativeCacheDir);
        try {
            return new TextTokenizer(HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(true)
                    .optTruncation(false)
                    .optPadding(false)
                    .build(), file);
        } catch (final IOException | RuntimeException e) {
            // The native side reports a malformed file as a RuntimeException whose message says what is wrong.
            throw new UserException(file + " is not a Hugging Face tokenizer.json: " + e.getMessage());
        }
    }

    private static synchronized void useCacheDir(final Path dir) {
        if (isBlank(System.getProperty(CACHE_DIR_PROPERTY)) && isBlank(System.getenv(CACHE_DIR_PROPERTY))
                && isBlank(System.getProperty(DJL_CACHE_DIR)) && isBlank(System.getenv(DJL_CACHE_DIR))) {
            System.setProperty(CACHE_DIR_PROPERTY, dir.toString());
        }
    }

    private static boolean isBlank(final String s) {
        return s == null || s.isBlank();
    }

    /** The token ids of one text, with the tokenizer's special tokens, untruncated and unpadded. */
    public int[] encode(final String text) {
        final Encoding encoding = tokenizer.encode(text, true, false);
        final long[] ids = encoding.getIds();
        final int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** The tokenizer.json in use. */
    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
