package dev.seqembed.cli;

import java.util.concurrent.Callable;

import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.UserException;
import dev.seqembed.demo.Demo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code demo}: everything in one JVM: a KRaft broker, the processor, a workload of variable-length sequences
 * (some in several chunks, a few deliberately bad), progress, and a summary of what each path cost ({@link Demo}).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run broker, processor and a sample workload in this JVM; print progress and a cost summary.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--sequences", paramLabel = "N", description = "Sequences to produce (default 300).")
    Integer sequences;

    @Option(names = "--seconds", paramLabel = "S", description = "Stop producing after S seconds (default: no limit).")
    Integer seconds;

    @Option(names = "--attention-mode", paramLabel = "MODE", defaultValue = "encoder",
            description = "encoder | causal (default encoder).")
    String attentionMode;

    @Option(names = "--max-len", paramLabel = "B", defaultValue = "480", description = "Longest sequence (default 480).")
    int maxLen;

    @Option(names = "--chunk", paramLabel = "K", defaultValue = "64",
            description = "Chunk size for the multi-chunk third of the sequences (default 64).")
    int chunk;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "20",
            description = "Sequences per second to produce (default 20; 0 = all at once).")
    int rate;

    @Option(names = "--http-port", paramLabel = "P", defaultValue = "0",
            description = "Serve /metrics on this port while the demo runs (default 0 = off).")
    int httpPort;

    @Override
    public Integer call() throws Exception {
        final AttentionMode mode = AttentionMode.parse(attentionMode);
        final int target = sequences != null ? sequences : seconds != null ? Integer.MAX_VALUE : 300;
        if (target < 1 || (seconds != null && seconds < 1) || maxLen < 4 || maxLen > 512 || chunk < 1 || rate < 0) {
            throw new UserException(
                    "need --sequences >= 1, --seconds >= 1, 4 <= --max-len <= 512, --chunk >= 1, --rate >= 0");
        }
        return new Demo(new Demo.Settings(mode, target, seconds, maxLen, chunk, rate, httpPort)).run(System.out);
    }
}
