package dev.seqembed.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
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

    @Option(names = "--e2e", description = "Only the sustained-load end-to-end benchmark (JSON key e2e): pass-through, "
            + "ingest only, both paths at full speed, then both at half rate with latencies.")
    boolean e2e;

    @Option(names = "--tokens", paramLabel = "N", description = "Input tokens of an --e2e full-speed run "
            + "(default 1000000).")
    long tokens = 1_000_000;

    @Option(names = "--warm-up-seconds", paramLabel = "S", description = "With --e2e: run both paths on throw-away "
            + "sequences for S seconds first, so the phases measure a warmed JVM (default 0).")
    int warmUpSeconds;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE",
            description = "A processor setting for --e2e (as run's -D), e.g. -D commit.interval.ms=200.")
    Map<String, String> overrides = new HashMap<>();

    @Override
    public Integer call() throws Exception {
        if (json != null && json.toAbsolutePath().getParent() != null
                && !Files.isDirectory(json.toAbsolutePath().getParent())) {
            throw new UserException("no such directory for --json: " + json.toAbsolutePath().getParent());
        }
        if (tokens < 1) {
            throw new UserException("--tokens must be at least 1, got " + tokens);
        }
        if (warmUpSeconds < 0) {
            throw new UserException("--warm-up-seconds must be at least 0, got " + warmUpSeconds);
        }
        if (e2e) {
            BenchSuite.runEndToEnd(tokens, warmUpSeconds, overrides, json, System.out);
        } else {
            BenchSuite.run(quick, json, skipEndToEnd, System.out);
        }
        return 0;
    }
}
