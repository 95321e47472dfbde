package dev.seqembed.cli;

import dev.seqembed.config.ConfigException;
import dev.seqembed.config.UserException;
import dev.seqembed.model.ModelLoadException;
import dev.seqembed.platform.NativeSetup;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code seqembed}: the command line of the processor, its tools and its demo (SPEC §5). */
@Command(name = "seqembed", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Streaming embeddings on Kafka: dense windows vs stateful attention, with their cost.",
        subcommands = {DemoCommand.class, RunCommand.class, ProduceCommand.class, ConsumeCommand.class,
                EmbedCommand.class, BrokerCommand.class, InitModelsCommand.class, BenchCommand.class,
                ReportCommand.class, ImportOnnxCommand.class, ResetCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    static {
        NativeSetup.cacheDir();
    }

    public static void main(final String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, also used by tests. */
    public static CommandLine commandLine() {
        final CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (isUserError(ex)) {
                line.getErr().println("seqembed " + line.getCommandName() + ": " + ex.getMessage());
                return CommandLine.ExitCode.USAGE;
            }
            throw ex;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            ex.getCommandLine().getErr().println("seqembed " + ex.getCommandLine().getCommandName() + ": "
                    + ex.getMessage() + " (see --help)");
            return CommandLine.ExitCode.USAGE;
        });
        return cl;
    }

    private static boolean isUserError(final Exception ex) {
        return ex instanceof ConfigException || ex instanceof ModelLoadException || ex instanceof java.nio.file.FileSystemException
                || ex instanceof UserException || ex instanceof java.net.BindException;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command");
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            final String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"seqembed " + (v == null ? "dev" : v)};
        }
    }
}
