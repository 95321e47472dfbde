package dev.seqembed.cli;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.seqembed.avro.Embedding;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.config.UserException;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Clock;
import dev.seqembed.engine.DenseEngine;
import dev.seqembed.engine.WindowSlicer;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.processor.ValidationRules;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.serde.EmbeddingJson;
import dev.seqembed.state.TokenBuffer;
import dev.seqembed.topology.SeqembedTopology;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code embed}: the models offline, without Kafka, through the same engines as the stream processor, so its
 * vectors equal the streamed ones. Invalid sequences are reported on stderr with their reason code and skipped.
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
        final List<Embedding> out;
        if (p.equals("dense")) {
            final DenseWindowModel model = DenseWindowModel.load(modelDir != null ? modelDir
                    : ModelDirs.defaultModels().resolve("dense"));
            out = dense(model, sequences, config);
        } else if (p.equals("attention")) {
            final BertModel model = BertModel.load(modelDir != null ? modelDir
                    : ModelDirs.defaultModels().resolve("attention"));
            out = attention(model, sequences, config.with(SeqembedConfig.ATTENTION_MODE, attentionMode.cliName()));
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

    private List<Embedding> dense(final DenseWindowModel model, final List<SequenceInput> sequences,
                                  final SeqembedConfig config) {
        final WindowSlicer slicer = new WindowSlicer(model.config());
        final List<DenseEngine.Pending> windows = new ArrayList<>();
        final long now = System.currentTimeMillis();
        final ValidationRules rules = new ValidationRules(model.config().vocabSize(), maxTokens, n -> 0,
                Long.MAX_VALUE, Long.MAX_VALUE);
        for (final SequenceInput s : sequences) {
            if (!valid(rules, s)) {
                continue;
            }
            for (final WindowSlicer.Slice w : slicer.slice(s.tokens())) {
                windows.add(new DenseEngine.Pending(w.toRecord(s.sequenceId(), now), now));
            }
        }
        final DenseEngine engine = new DenseEngine(model, Clock.SYSTEM);
        final int batch = config.denseBatchMaxWindows();
        final List<Embedding> out = new ArrayList<>(windows.size());
        for (int i = 0; i < windows.size(); i += batch) {
            out.addAll(engine.embed(windows.subList(i, Math.min(windows.size(), i + batch))));
        }
        return out;
    }

    private List<Embedding> attention(final BertModel model, final List<SequenceInput> sequences,
                                      final SeqembedConfig config) {
        final AttentionEngine engine = new AttentionEngine(model, config.attentionPoolingCls() ? Pooling.CLS
                : Pooling.MEAN, config.attentionNormalize(), Clock.SYSTEM);
        final int positions = model.config().maxPositionEmbeddings();
        final int windowStride = SeqembedTopology.windowStride(config, positions);
        final List<Embedding> out = new ArrayList<>();
        final ValidationRules rules = SeqembedTopology.attentionRules(config, model.config(),
                model.config().vocabSize());
        for (final SequenceInput s : sequences) {
            if (!valid(rules, s)) {
                continue;
            }
            final long now = System.currentTimeMillis();
            if (config.attentionMode() == AttentionMode.ENCODER && windowStride > 0) {
                // one forward per window, as for any sequence offline
                for (final AttentionEngine.Pending w : AttentionEngine.Pending.of(s.sequenceId(), s.tokens(), now,
                        TokenBuffer.sizeBytes(s.tokens().length), positions, windowStride)) {
                    out.addAll(engine.encodeBatch(List.of(w)));
                }
                continue;
            }
            if (config.attentionMode() == AttentionMode.ENCODER) {
                final int[] tokens = java.util.Arrays.copyOf(s.tokens(), Math.min(positions, s.tokens().length));
                out.add(engine.encode(s.sequenceId(), tokens, now, TokenBuffer.sizeBytes(tokens.length)));
                continue;
            }
            final KvCache cache = model.newCache();
            final List<int[]> chunks = s.chunks(chunk);
            for (int i = 0; i < chunks.size(); i++) {
                final int[] c = chunks.get(i);
                final int[] kept = java.util.Arrays.copyOf(c, Math.min(c.length, Math.max(0, positions - cache.length())));
                out.add(engine.causal(s.sequenceId(), cache, i, kept, i == chunks.size() - 1, now));
            }
        }
        return out;
    }

    private static boolean valid(final ValidationRules rules, final SequenceInput s) {
        final ValidationRules.Violation v = rules.check(s.sequenceId(), s.tokens(), 0, false);
        if (v != null) {
            System.err.println("skipped " + s.sequenceId() + ": " + v.code() + ": " + v.message());
        }
        return v == null;
    }
}
