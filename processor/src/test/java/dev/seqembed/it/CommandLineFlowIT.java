package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
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
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.avro.Embedding;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.testing.TestModels;

/**
 * The README's "local session without Docker", every step its own {@code java -jar seqembed.jar} JVM: {@code broker}
 * on a free port, {@code run} (causal attention, small test models), {@code produce} of a JSONL file with one
 * out-of-range token, {@code consume} of both embedding topics and the DLQ, the HTTP port, and SIGTERM for both
 * long-running commands. Streamed vectors equal those of {@code embed} (also through the jar) on the good lines.
 *
 * <p>Both {@code run} and {@code broker} exit with 143 (128 + SIGTERM) on SIGTERM: their shutdown hooks close
 * cleanly, and the {@code System.exit(0)} of {@code main} that follows blocks while the JVM is already shutting down,
 * so the JVM's own SIGTERM status wins. 0 is accepted as well.
 */
class CommandLineFlowIT {

    private static final int CHUNK = 4;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final List<Cli> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @AfterEach
    void killAll() {
        for (final Cli p : processes) {
            p.process.destroyForcibly();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void theReadmeLocalSessionWorksEndToEnd() throws Throwable {
        try {
            flow();
        } catch (final Throwable t) {
            for (final Cli p : processes) {
                System.err.println(p.tails());
            }
            throw t;
        }
    }

    private void flow() throws Exception {
        final Path jar = Path.of("target", "seqembed.jar").toAbsolutePath();
        assertThat(jar).as("the shaded jar is built before the integration tests").exists();
        final Path models = dir.resolve("models");
        TestModels.write(models);
        final String denseModel = models.resolve("dense").toString();
        final String attentionModel = models.resolve("attention").toString();

        // Ten good sequences (one shorter than a dense window, lengths on and off chunk boundaries) and one whose
        // single chunk carries token 500 >= vocab 200.
        final int[] lengths = {3, 4, 5, 8, 13, 17, 21, 24, 29, 30};
        final Random random = new Random(20240611L);
        final StringBuilder good = new StringBuilder();
        final StringBuilder all = new StringBuilder();
        final List<String> ids = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            final int[] tokens = random.ints(lengths[i], 0, TestModels.DENSE.vocabSize()).toArray();
            final String line = "{\"sequence_id\":\"cli-" + i + "\",\"tokens\":" + Arrays.toString(tokens) + "}\n";
            ids.add("cli-" + i);
            good.append(line);
            all.append(line);
            if (i == 4) {
                all.append("{\"sequence_id\":\"bad-1\",\"tokens\":[7,500,9]}\n");
            }
        }
        final Path input = dir.resolve("in.jsonl");
        final Path goodInput = dir.resolve("good.jsonl");
        Files.writeString(input, all);
        Files.writeString(goodInput, good);

        // Offline reference through the jar, concurrently with the broker's start.
        final Path wantAttentionFile = dir.resolve("want-attention.jsonl");
        final Path wantDenseFile = dir.resolve("want-dense.jsonl");
        final Cli embedAttention = start(jar, "embed-attention", "embed", "--path", "attention", "--mode", "causal",
                "--chunk", String.valueOf(CHUNK), "--model", attentionModel, "--input", goodInput.toString(),
                "--output", wantAttentionFile.toString());
        final Cli embedDense = start(jar, "embed-dense", "embed", "--path", "dense", "--model", denseModel,
                "--input", goodInput.toString(), "--output", wantDenseFile.toString());

        // 1. broker
        final int brokerPort = freePort();
        final String bootstrap = "localhost:" + brokerPort;
        final Cli broker = start(jar, "broker", "broker", "--port", String.valueOf(brokerPort), "--data-dir",
                dir.resolve("broker-data").toString());
        broker.awaitLine(l -> l.startsWith("broker ready at " + bootstrap), START_TIMEOUT);

        // 2. run
        final int httpPort = freePort();
        final Cli run = start(jar, "run", "run", "--bootstrap-servers", bootstrap, "--http-port",
                String.valueOf(httpPort), "--state-dir", dir.resolve("state").toString(), "--application-id",
                "cli-" + UUID.randomUUID().toString().substring(0, 8), "--dense-model", denseModel,
                "--attention-model", attentionModel, "--attention-mode", "causal");
        awaitReady(run, httpPort);

        assertThat(embedAttention.awaitExit(START_TIMEOUT)).as("embed --path attention exit").isZero();
        assertThat(embedDense.awaitExit(START_TIMEOUT)).as("embed --path dense exit").isZero();
        assertThat(embedAttention.stderr()).contains("embedded");
        final List<Embedding> wantAttention = readEmbeddings(wantAttentionFile);
        final List<Embedding> wantDense = readEmbeddings(wantDenseFile);
        assertThat(wantAttention).hasSize(Arrays.stream(lengths).map(n -> (n + CHUNK - 1) / CHUNK).sum());
        assertThat(wantDense).isNotEmpty();

        // 3. produce
        final Cli produce = start(jar, "produce", "produce", "--bootstrap-servers", bootstrap, "--input",
                input.toString(), "--chunk", String.valueOf(CHUNK));
        assertThat(produce.awaitExit(START_TIMEOUT)).as("produce exit").isZero();
        assertThat(produce.stderr()).contains("produced 11 sequences");

        // 4. consume: the three topics concurrently, each its own JVM.
        final Cli consumeAttention = start(jar, "consume-attention", "consume", "--bootstrap-servers", bootstrap,
                "--topic", "embeddings.attention", "--from-beginning", "--max", String.valueOf(wantAttention.size()),
                "--timeout-ms", "60000");
        final Cli consumeDense = start(jar, "consume-dense", "consume", "--bootstrap-servers", bootstrap,
                "--topic", "embeddings.dense", "--from-beginning", "--max", String.valueOf(wantDense.size()),
                "--timeout-ms", "60000");
        final Cli consumeDlq = start(jar, "consume-dlq", "consume", "--bootstrap-servers", bootstrap,
                "--topic", "tokens.dlq", "--from-beginning", "--max", "1", "--timeout-ms", "60000");
        final Duration consumeTimeout = Duration.ofSeconds(90);
        assertThat(consumeAttention.awaitExit(consumeTimeout)).as("consume attention exit").isZero();
        assertThat(consumeDense.awaitExit(consumeTimeout)).as("consume dense exit").isZero();
        assertThat(consumeDlq.awaitExit(consumeTimeout)).as("consume dlq exit").isZero();

        final List<Embedding> gotAttention = parseEmbeddings(consumeAttention.stdoutLines());
        assertThat(gotAttention).as("attention embeddings consumed before the 60 s idle timeout")
                .hasSize(wantAttention.size());
        StreamingEqualsOfflineIT.assertSameVectors(gotAttention, wantAttention, 0f);
        final List<Embedding> gotDense = parseEmbeddings(consumeDense.stdoutLines());
        assertThat(gotDense).as("dense embeddings consumed before the 60 s idle timeout").hasSize(wantDense.size());
        StreamingEqualsOfflineIT.assertSameVectors(gotDense, wantDense, 1e-6f);
        // --max stops at the expected count: nothing beyond it either (no duplicates, nothing from bad-1).
        assertThat(EmbeddingReader.read(bootstrap, "embeddings.attention", wantAttention.size(),
                Duration.ofSeconds(10))).hasSize(wantAttention.size());
        assertThat(EmbeddingReader.read(bootstrap, "embeddings.dense", wantDense.size(), Duration.ofSeconds(10)))
                .hasSize(wantDense.size());

        final List<String> dlqLines = consumeDlq.stdoutLines();
        assertThat(dlqLines).hasSize(1);
        final JsonNode dead = JSON.readTree(dlqLines.get(0));
        assertThat(dead.path("topic").asText()).isEqualTo("tokens.dlq");
        assertThat(dead.path("key").asText()).isEqualTo("bad-1");
        assertThat(dead.path("headers").path(DeadLetter.HEADER_REASON).asText()).isEqualTo("TOKEN_OUT_OF_RANGE");
        assertThat(dead.path("value_bytes").asInt()).isPositive();

        // 5. the HTTP port
        final HttpResponse<String> metrics = get(httpPort, "/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("seqembed_dlq_total{reason=\"TOKEN_OUT_OF_RANGE\"} 1.0");
        final HttpResponse<String> last = get(httpPort, "/sequences/cli-9");
        assertThat(last.statusCode()).isEqualTo(200);
        assertThat(last.headers().firstValue("Content-Type")).hasValue("application/json");
        final JsonNode progress = JSON.readTree(last.body());
        assertThat(progress.path("sequence_id").asText()).isEqualTo("cli-9");
        assertThat(progress.path("tokens_seen").asInt()).isEqualTo(30);
        assertThat(progress.path("next_chunk_index").asInt()).isEqualTo((30 + CHUNK - 1) / CHUNK);
        assertThat(progress.path("closed").asBoolean()).isTrue();
        assertThat(progress.path("mode").asText()).isEqualTo("causal");
        // A chunk rejected for its content is not applied (ChunkValidator): bad-1 never started, the producer may
        // still send a corrected chunk 0.
        final HttpResponse<String> bad = get(httpPort, "/sequences/bad-1");
        assertThat(bad.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(bad.body()).path("known").asBoolean(true)).isFalse();
        assertThat(run.process.isAlive()).as("run survives the bad record").isTrue();

        // 6. SIGTERM: processor first, then the broker.
        run.process.destroy();
        final int runExit = run.awaitExit(STOP_TIMEOUT);
        System.out.println("CommandLineFlowIT: run exited with " + runExit + " on SIGTERM");
        assertThat(runExit).as("run exit code on SIGTERM").isIn(0, 143);
        assertThat(run.stderr()).as("run's shutdown hook closed the processor")
                .contains("streams PENDING_SHUTDOWN -> NOT_RUNNING").containsPattern("processor cli-\\w+ stopped");
        broker.process.destroy();
        final int brokerExit = broker.awaitExit(STOP_TIMEOUT);
        System.out.println("CommandLineFlowIT: broker exited with " + brokerExit + " on SIGTERM");
        assertThat(brokerExit).as("broker exit code on SIGTERM").isIn(0, 143);
        assertThat(broker.stderr()).as("broker's shutdown hook closed it")
                .contains("Kafka broker at " + bootstrap + " stopped");
    }

    private void awaitReady(final Cli run, final int port) throws Exception {
        final long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        int last = -1;
        while (System.nanoTime() < deadline) {
            if (!run.process.isAlive()) {
                fail("run exited with " + run.process.exitValue() + " before it was ready\n" + run.tails());
            }
            try {
                last = get(port, "/health/ready").statusCode();
                if (last == 200) {
                    return;
                }
            } catch (final IOException notListeningYet) {
                // The HTTP port opens once the models are loaded.
            }
            Thread.sleep(200);
        }
        fail("run not ready within " + START_TIMEOUT + " (last /health/ready status " + last + ")\n" + run.tails());
    }

    private HttpResponse<String> get(final int port, final String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static List<Embedding> readEmbeddings(final Path file) throws IOException {
        return parseEmbeddings(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    private static List<Embedding> parseEmbeddings(final List<String> lines) throws IOException {
        return OfflineEmbed.read(lines);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code java -Xmx1g -jar seqembed.jar args...}; its environment is the test's, unchanged. */
    private Cli start(final Path jar, final String name, final String... args) throws IOException {
        final List<String> command = new ArrayList<>(List.of(javaExecutable(), "-Xmx1g", "-jar", jar.toString()));
        command.addAll(List.of(args));
        final Path stdout = dir.resolve(name + ".out");
        final Path stderr = dir.resolve(name + ".err");
        // The test's own OPENBLAS_* / OMP_* environment (if any) is inherited, never changed.
        final Process process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.PIPE)
                .redirectError(stderr.toFile()).start();
        final Cli cli = new Cli(name, process, stdout, stderr);
        processes.add(cli);
        return cli;
    }

    private static String javaExecutable() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    /** One CLI process: its stdout copied line by line to a file by a thread (and watched), stderr to a file. */
    private static final class Cli {
        final String name;
        final Process process;
        final Path stdout;
        final Path stderr;
        private final List<Watch> watches = new ArrayList<>();
        private final CompletableFuture<Void> pumped = new CompletableFuture<>();

        private record Watch(Predicate<String> match, CompletableFuture<String> found) {
        }

        Cli(final String name, final Process process, final Path stdout, final Path stderr) throws IOException {
            this.name = name;
            this.process = process;
            this.stdout = stdout;
            this.stderr = stderr;
            final BufferedWriter out = Files.newBufferedWriter(stdout, StandardCharsets.UTF_8);
            final Thread pump = new Thread(() -> pump(out), "stdout-" + name);
            pump.setDaemon(true);
            pump.start();
        }

        private void pump(final BufferedWriter file) {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
                 BufferedWriter out = file) {
                String line;
                while ((line = in.readLine()) != null) {
                    out.write(line);
                    out.newLine();
                    out.flush();
                    synchronized (watches) {
                        for (final Watch w : watches) {
                            if (w.match.test(line)) {
                                w.found.complete(line);
                            }
                        }
                    }
                }
            } catch (final IOException e) {
                // The process was killed: what was read is in the file.
            } finally {
                pumped.complete(null);
            }
        }

        /** Waits for a stdout line; fails with the process's output when it does not come in time. */
        String awaitLine(final Predicate<String> match, final Duration timeout) throws Exception {
            final Watch w = new Watch(match, new CompletableFuture<>());
            synchronized (watches) {
                watches.add(w);
                for (final String line : Files.readAllLines(stdout, StandardCharsets.UTF_8)) {
                    if (match.test(line)) {
                        w.found.complete(line);
                    }
                }
            }
            try {
                return CompletableFuture.anyOf(w.found, pumped).get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                        instanceof String s ? s : fail(name + " ended without the expected line\n" + tails());
            } catch (final java.util.concurrent.TimeoutException e) {
                return fail(name + ": expected line not printed within " + timeout + "\n" + tails());
            }
        }

        /** Waits for the exit code; fails with the process's output when it does not end in time. */
        int awaitExit(final Duration timeout) throws Exception {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                fail(name + " did not end within " + timeout + "\n" + tails());
            }
            pumped.get(10, TimeUnit.SECONDS);
            return process.exitValue();
        }

        List<String> stdoutLines() throws Exception {
            pumped.get(10, TimeUnit.SECONDS);
            return Files.readAllLines(stdout, StandardCharsets.UTF_8);
        }

        String stderr() {
            return read(stderr);
        }

        String tails() {
            return "---- " + name + " (" + (process.isAlive() ? "running" : "exit " + process.exitValue())
                    + ") stdout tail:\n" + tail(read(stdout)) + "---- " + name + " stderr tail:\n" + tail(read(stderr));
        }

        private static String read(final Path file) {
            try {
                return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
            } catch (final IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static String tail(final String text) {
            final List<String> lines = text.lines().toList();
            final StringBuilder sb = new StringBuilder();
            for (final String l : lines.subList(Math.max(0, lines.size() - 40), lines.size())) {
                sb.append(l.length() > 400 ? l.substring(0, 400) + "…" : l).append('\n');
            }
            return sb.toString();
        }
    }
}
