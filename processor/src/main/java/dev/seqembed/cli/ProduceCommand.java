package dev.seqembed.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.config.UserException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code produce}: sends token sequences from a JSONL file or a synthetic generator. */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = "Produce token sequences to the tokens topic, split into chunks.")
public final class ProduceCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Option(names = "--topic", paramLabel = "T", description = "Topic (default tokens).")
    String topic;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--chunk", paramLabel = "K", description = "Tokens per chunk (default: whole sequence in one chunk).")
    int chunk;

    @Option(names = "--min-len", paramLabel = "A", defaultValue = "4", description = "Shortest synthetic sequence (default 4).")
    int minLen;

    @Option(names = "--max-len", paramLabel = "B", defaultValue = "400", description = "Longest synthetic sequence (default 400).")
    int maxLen;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the synthetic generator (default 42).")
    long seed;

    /** Where sequences come from. */
    static final class Source {
        @Option(names = "--input", paramLabel = "FILE.jsonl", description = "Lines of {\"sequence_id\":…, \"tokens\":[…]}.")
        Path input;

        @Option(names = "--synthetic", paramLabel = "N", description = "N generated sequences.")
        Integer synthetic;
    }

    @Override
    public Integer call() throws Exception {
        final SeqembedConfig config = options.resolve(Map.of());
        if (chunk < 0 || minLen < 1 || maxLen < minLen) {
            throw new UserException("need --chunk >= 0 and 1 <= --min-len <= --max-len");
        }
        final List<SequenceInput> sequences = source.input != null
                ? JsonlInput.read(source.input, spec.commandLine())
                : SyntheticWorkload.generate(source.synthetic, minLen, maxLen, 30522, seed, "seq-");
        try (TokenProducer producer = new TokenProducer(config.streamsProperties(),
                topic != null ? topic : config.topicTokens())) {
            for (final SequenceInput s : sequences) {
                producer.send(s, chunk);
            }
            producer.flush();
            System.err.println("produced " + sequences.size() + " sequences in " + producer.chunksSent() + " chunks");
        }
        return 0;
    }
}
