package dev.seqembed.onnx;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.seqembed.model.BertCheckpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code import-onnx} (SPEC §10.1): reads a BERT ONNX export (a file, or a jar/zip holding one), maps it to
 * SPEC §4.2's layout and writes {@code config.json}, {@code model.safetensors} (F32) and, when the input has one,
 * {@code tokenizer.json} to the output directory.
 */
public final class OnnxImporter {
    /** The tokenizer's file name in the output directory (the Hugging Face one). */
    public static final String TOKENIZER = OnnxSource.TOKENIZER;

    private OnnxImporter() {
    }

    /** What an import wrote. */
    public record Result(String source, BertImport model, boolean tokenizerCopied) {
    }

    /**
     * Imports {@code input} into {@code out}.
     *
     * @param heads the number of attention heads, or null to read it from the graph
     * @throws OnnxImportException when the input is not a readable ONNX BERT export; the message names what is
     *                             missing
     */
    public static Result importModel(final Path input, final Path out, final Integer heads) throws IOException {
        final OnnxSource source = OnnxSource.read(input);
        final OnnxGraph graph;
        try {
            graph = OnnxProtoReader.read(source.model());
        } catch (final InvalidProtocolBufferException e) {
            throw new OnnxImportException(source.description() + " is not a readable ONNX model: " + e.getMessage(), e);
        }
        final BertImport model;
        try {
            model = BertGraphMapper.map(graph, heads);
        } catch (final OnnxImportException e) {
            throw new OnnxImportException(source.description() + ": " + e.getMessage(), e);
        }
        BertCheckpoint.write(out, model.config(), model.tensors());
        if (source.tokenizer() != null) {
            Files.write(out.resolve(TOKENIZER), source.tokenizer());
        }
        return new Result(source.description(), model, source.tokenizer() != null);
    }
}
