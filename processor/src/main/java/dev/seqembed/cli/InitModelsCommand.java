package dev.seqembed.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import dev.seqembed.model.DefaultModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code init-models}: writes the deterministic default models (SPEC §4.3). */
@Command(name = "init-models", mixinStandardHelpOptions = true,
        description = "Write the default dense and attention models (same bytes every time) to DIR/dense and DIR/attention.")
public final class InitModelsCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Override
    public Integer call() throws Exception {
        DefaultModels.write(out);
        System.out.println("wrote " + out.resolve("dense") + " and " + out.resolve("attention"));
        return 0;
    }
}
