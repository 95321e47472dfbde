package dev.seqembed.cli;

import dev.seqembed.broker.EmbeddedKafkaBroker;
import dev.seqembed.broker.ScramUser;
import dev.seqembed.platform.UserDirs;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.BindException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code seqembed broker}: a standalone single-node KRaft broker for local work without Docker.
 *
 * <p>Runs {@link EmbeddedKafkaBroker} on a fixed port (advertised as {@code localhost:PORT}) and a
 * persistent data directory, so topics and records survive restarts of the command. Prints one
 * "broker ready at …" line to stdout and runs until Ctrl-C (or SIGTERM), then shuts down cleanly.
 * Exit codes: 143 after Ctrl-C/SIGTERM (the JVM's code for a signal; the broker has shut down cleanly by
 * then), 2 when the port is in use or an argument is invalid, 1 when the broker cannot start for another
 * reason (for example the data directory is used by another broker).
 */
@Command(
    name = "broker",
    mixinStandardHelpOptions = true,
    description = {
        "Runs a standalone single-node Kafka broker (KRaft, broker + controller) in this JVM, "
            + "for local work without Docker.",
        "Clients connect to localhost:PORT. Data is kept in the data directory across restarts; "
            + "delete that directory to start empty. Runs until Ctrl-C."
    })
public final class BrokerCommand implements Callable<Integer> {

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "9092",
        description = "Client port, advertised as localhost:PORT (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--data-dir", paramLabel = "DIR",
        description = "Data directory, formatted on first use and reused afterwards "
            + "(default: $XDG_DATA_HOME/seqembed/broker, else ~/.local/share/seqembed/broker).")
    private Path dataDir;

    @Option(names = "--sasl-scram", paramLabel = "USER:PASSWORD",
        description = "Make the client listener SASL_PLAINTEXT with SCRAM-SHA-512 and this one user. Clients then "
            + "need security.protocol=SASL_PLAINTEXT, sasl.mechanism=SCRAM-SHA-512 and sasl.jaas.config "
            + "(ScramLoginModule) in --config or -D.")
    private String saslScram;

    @Spec
    private CommandSpec spec;

    /**
     * {@return the default data directory: {@code $XDG_DATA_HOME/seqembed/broker} when that
     * variable is set, else {@code ~/.local/share/seqembed/broker}}
     */
    public static Path defaultDataDir() {
        return UserDirs.dataRoot().resolve("broker");
    }

    @Override
    public Integer call() {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        if (port < 1 || port > 65535) {
            err.println("broker: --port must be between 1 and 65535, got " + port);
            err.flush();
            return 2;
        }
        final Path dir = (dataDir != null ? dataDir : defaultDataDir()).toAbsolutePath().normalize();
        final ScramUser scram;
        try {
            scram = saslScram == null ? null : ScramUser.parse(saslScram);
        } catch (IllegalArgumentException e) {
            err.println("broker: --sasl-scram: " + e.getMessage());
            err.flush();
            return 2;
        }

        final EmbeddedKafkaBroker broker;
        try {
            broker = EmbeddedKafkaBroker.start(port, dir, scram);
        } catch (BindException e) {
            err.println("broker: port " + port + " is already in use (another broker running?); "
                + "choose another with --port");
            err.flush();
            return 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (Exception e) {
            err.println("broker: cannot start: " + rootMessage(e));
            err.flush();
            return 1;
        }

        // Ctrl-C / SIGTERM run the hook: the broker shuts down in a controlled way, flushing its logs.
        final CountDownLatch stopped = new CountDownLatch(1);
        final Thread hook = new Thread(() -> {
            broker.close();
            stopped.countDown();
        }, "seqembed-broker-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        out.println("broker ready at " + broker.bootstrapServers() + (scram == null ? ""
            : " (SASL_PLAINTEXT, " + ScramUser.MECHANISM + ", user " + scram.name() + ")") + " (data: " + dir + ")");
        out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            // Embedded use (tests, a caller's thread): interruption stops the broker like Ctrl-C.
            Thread.currentThread().interrupt();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is already stopping: the hook does the closing.
            }
            broker.close();
        }
        return 0;
    }

    private static String rootMessage(final Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        final String message = t.getMessage();
        return message != null ? message : t.getClass().getSimpleName();
    }
}
