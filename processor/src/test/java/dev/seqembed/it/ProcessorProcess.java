package dev.seqembed.it;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@code java -jar seqembed.jar run} process of a multi-instance test (as {@link KillNineIT} and
 * {@link CommandLineFlowIT} start them: the test's environment unchanged, output to a file), with its HTTP port for
 * readiness and queries. Restarting reuses the same command, so the same state dir, port and instance identity.
 */
final class ProcessorProcess {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    final String name;
    final int httpPort;
    /** This instance's {@code --state-dir}. */
    final Path stateDir;
    private final List<String> command;
    private final Path logDir;
    private Process process;
    private long startedNanos;
    private int starts;

    private ProcessorProcess(final String name, final int httpPort, final Path stateDir, final List<String> command,
                             final Path logDir) {
        this.name = name;
        this.httpPort = httpPort;
        this.stateDir = stateDir;
        this.command = command;
        this.logDir = logDir;
    }

    /**
     * A processor instance (not started yet): {@code run} with its own state dir under {@code dir} and a free HTTP
     * port, plus the given arguments.
     */
    static ProcessorProcess of(final String name, final Path dir, final List<String> runArgs) throws IOException {
        final int port = freePort();
        final Path jar = Path.of("target", "seqembed.jar").toAbsolutePath();
        final Path stateDir = dir.resolve("state-" + name);
        final List<String> command = new ArrayList<>(List.of(javaExecutable(), "-Xmx768m", "-jar", jar.toString(),
                "run", "--state-dir", stateDir.toString(), "--http-port", String.valueOf(port)));
        command.addAll(runArgs);
        return new ProcessorProcess(name, port, stateDir, command, dir);
    }

    /** Starts (or starts again) the process. */
    ProcessorProcess start() throws IOException {
        final Path log = logDir.resolve(name + "-" + (++starts) + ".log");
        startedNanos = System.nanoTime();
        process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        final Process p = process;
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        return this;
    }

    /** Waits until {@code /health/ready} answers 200; returns the time since this start. */
    Duration awaitReady(final Duration timeout) throws Exception {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with " + process.exitValue() + "\n" + tail());
            }
            if (status("/health/ready") == 200) {
                return Duration.ofNanos(System.nanoTime() - startedNanos);
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + " not ready within " + timeout + "\n" + tail());
    }

    /** Waits until the HTTP port answers at all (models loaded, Kafka Streams starting). */
    void awaitListening(final Duration timeout) throws Exception {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && status("/health/live") < 0) {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with " + process.exitValue() + "\n" + tail());
            }
            Thread.sleep(50);
        }
    }

    /** SIGKILL, and wait for the process to be gone. */
    void kill9() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** SIGTERM (an orderly stop), and wait. */
    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            process.waitFor();
        }
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    /** HTTP GET on this instance. */
    HttpResponse<String> get(final String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + httpPort + path))
                .timeout(Duration.ofSeconds(15)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private int status(final String path) throws InterruptedException {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://localhost:" + httpPort + path))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (final IOException notListening) {
            return -1;
        }
    }

    /** The last lines of this start's output. */
    String tail() {
        try {
            final List<String> lines = Files.readAllLines(logDir.resolve(name + "-" + starts + ".log"),
                    StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (final IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** The whole output of the latest start. */
    String log() throws IOException {
        return Files.readString(logDir.resolve(name + "-" + starts + ".log"), StandardCharsets.UTF_8);
    }

    /** The whole output of every start so far. */
    String logs() throws IOException {
        final StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= starts; i++) {
            sb.append(Files.readString(logDir.resolve(name + "-" + i + ".log"), StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String javaExecutable() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
