package dev.seqembed.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.seqembed.bench.BenchSuite;
import dev.seqembed.config.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bench}: the performance harness (SPEC §8); see {@link BenchSuite} for what it measures and writes. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Performance harness: plain sgemm, dense GEMM, attention encoder and causal cache, "
                + "end-to-end vs raw Kafka; ratios measured in the same run.",
                "--quick takes under a minute; the full run a few minutes."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "Short run (under a minute): fewer repetitions and points, 300 sequences end to end.")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON (input of report).")
    Path json;

    @Option(names = "--skip-end-to-end", description = "Skip the Kafka end-to-end section.")
    boolean skipEndToEnd;

    @Override
    public Integer call() throws Exception {
        if (json != null && json.toAbsolutePath().getParent() != null
                && !Files.isDirectory(json.toAbsolutePath().getParent())) {
            throw new UserException("no such directory for --json: " + json.toAbsolutePath().getParent());
        }
        BenchSuite.run(quick, json, skipEndToEnd, System.out);
        return 0;
    }
}
