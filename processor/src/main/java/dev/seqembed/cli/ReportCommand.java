package dev.seqembed.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.seqembed.bench.Report;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code report}: plots a bench JSON or consumed embeddings ({@link Report} says what is plotted how). */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Plot cost (FLOPs and time) against sequence length, dense vs attention, from a bench JSON "
                + "or consumed embeddings (JSONL).")
public final class ReportCommand implements Callable<Integer> {

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "Bench JSON or consumed embeddings (JSONL).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "PLOT.png", description = "PNG to write.")
    Path output;

    @Override
    public Integer call() throws Exception {
        final Report.Data data = Report.read(input);
        Report.writePng(data, output);
        System.out.printf("%s: %s%n", input, data.kind());
        for (final Report.Series s : data.series()) {
            final double lo = s.points().stream().mapToDouble(Report.Point::length).min().orElse(0);
            final double hi = s.points().stream().mapToDouble(Report.Point::length).max().orElse(0);
            System.out.printf("  %-46s %6d points, length %.0f..%.0f%n", s.name(), s.points().size(), lo, hi);
        }
        System.out.println("wrote " + output);
        return 0;
    }
}
