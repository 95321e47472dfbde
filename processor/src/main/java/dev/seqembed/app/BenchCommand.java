package dev.seqembed.app;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bench}: the performance harness (SPEC §8). Not yet implemented: exits 3 saying so. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Performance harness (not yet: this release reports per-record cost in every Embedding instead).")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "Short run.")
    boolean quick;

    @Option(names = "--json", paramLabel = "FILE", description = "Write results as JSON.")
    Path json;

    @Override
    public Integer call() {
        System.err.println("seqembed bench: not yet implemented in this release");
        return 3;
    }
}
