package dev.seqembed.app;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code report}: cost-vs-length plot. Not yet implemented: exits 3 saying so. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Plot cost against sequence length (not yet implemented).")
public final class ReportCommand implements Callable<Integer> {

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "Bench JSON or consumed embeddings.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "PLOT.png", description = "PNG to write.")
    Path output;

    @Override
    public Integer call() {
        System.err.println("seqembed report: not yet implemented in this release");
        return 3;
    }
}
