package dev.seqembed.cli;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.seqembed.avro.Embedding;
import dev.seqembed.client.OfflineEmbedder;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.config.UserException;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.serde.EmbeddingJson;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code embed}: the models offline, without Kafka ({@link OfflineEmbedder}), so its vectors equal the streamed
 * ones. Invalid sequences are reported on stderr with their reason code and skipped.
 */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Embed sequences from a JSONL or text file offline (no Kafka), exactly as the processor would.")
public final class EmbedCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--path", required = true, paramLabel = "dense|attention", description = "Which model path.")
    String path;

    @Option(names = "--model", paramLabel = "DIR", description = "Model directory (default: built-in model of the path).")
    Path modelDir;

    @Option(names = "--mode", paramLabel = "encoder|causal", defaultValue = "encoder",
            description = "Attention mode (default encoder).")
    String mode;

    @Option(names = "--chunk", paramLabel = "K", defaultValue = "0",
            description = "Causal mode: tokens per chunk, one embedding per chunk (default: whole sequence).")
    int chunk;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    /** Token sequences, or texts and a tokenizer. */
    static final class Source {
        @Option(names = "--input", paramLabel = "in.jsonl", description = "Lines of {\"sequence_id\":…, \"tokens\":[…]}.")
        Path input;

        @ArgGroup(exclusive = false)
        TextSource text;
    }

    @Option(names = "--output", required = true, paramLabel = "out.jsonl", description = "One Embedding per line.")
    Path output;

    @Option(names = "--max-tokens", paramLabel = "N",
            description = "Dense path: reject longer sequences (default: no limit; the processor rejects sequences "
                    + "longer than the attention model's positions on both paths when attention.overflow=reject (the default), "
                    + "so pass 512 to mimic it with the default models).")
    int maxTokens = Integer.MAX_VALUE;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE",
            description = "Settings as for run: attention.pooling, attention.normalize, attention.overflow, attention.window-stride, "
                    + "state.max-bytes-per-sequence, dense.batch.max-windows.")
    Map<String, String> settings = new HashMap<>();

    @Override
    public Integer call() throws Exception {
        final SeqembedConfig config = SeqembedConfig.from(settings);
        final AttentionMode attentionMode = AttentionMode.parse(mode);
        final List<SequenceInput> sequences = source.input != null
                ? JsonlInput.read(source.input, spec.commandLine())
                : source.text.read(spec.commandLine().getErr()::println);
        final String p = path.toLowerCase(Locale.ROOT);
        final OfflineEmbedder embedder = new OfflineEmbedder(System.err::println);
        final List<Embedding> out;
        if (p.equals("dense")) {
            final DenseWindowModel model = DenseWindowModel.load(modelDir != null ? modelDir
                    : ModelDirs.defaultModels().resolve("dense"));
            out = embedder.dense(model, sequences, config, maxTokens);
        } else if (p.equals("attention")) {
            final BertModel model = BertModel.load(modelDir != null ? modelDir
                    : ModelDirs.defaultModels().resolve("attention"));
            out = embedder.attention(model, sequences, config.with(SeqembedConfig.ATTENTION_MODE,
                    attentionMode.cliName()), chunk);
        } else {
            throw new UserException("--path must be dense or attention, got '" + path + "'");
        }
        try (BufferedWriter w = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            for (final Embedding e : out) {
                w.write(EmbeddingJson.write(e));
                w.newLine();
            }
        }
        System.err.println("embedded " + out.size() + " vectors to " + output);
        return 0;
    }
}
