package dev.seqembed.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;
import dev.seqembed.bench.Report;
import dev.seqembed.config.UserException;
import dev.seqembed.serde.EmbeddingJson;

/** {@code report}: both input kinds parsed, a PNG of the documented size written, user errors exit 2. */
class ReportCommandTest {

    @TempDir
    Path dir;

    private static final String BENCH = """
            {"environment": {"active_core": "Haswell", "openblas_coretype_source": "auto:avx2", "native_threads": "2",
                             "cpu_model": "test cpu", "quick": true},
             "models": {"dense": {"window": 16, "stride": 8, "flops_per_window": 786432}},
             "sgemm": {"gflops": 140.2},
             "dense": [{"batch": 1, "ms": 1.0, "gflops": 0.8}, {"batch": 64, "ms": 6.4, "gflops": 7.9}],
             "encoder": [{"length": 16, "flops": 101711872, "ms": 5.0}, {"length": 64, "flops": 419430400, "ms": 20.0},
                         {"length": 512, "flops": 4294967296, "ms": 110.0}],
             "causal": [{"prefix": 16, "chunk": 16, "cached_ms": 4.0, "recompute_ms": 8.0,
                         "flops_cached": 102760448, "flops_recompute": 205520896},
                        {"prefix": 496, "chunk": 16, "cached_ms": 6.0, "recompute_ms": 110.0,
                         "flops_cached": 134217728, "flops_recompute": 4294967296}],
             "end_to_end": {"passthrough_tokens_per_s": 250000, "dense_tokens_per_s": 20000}}
            """;

    record Result(int exit, String out, String err) {
    }

    private static Result run(final String... args) {
        final StringWriter err = new StringWriter();
        final ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
        final PrintStream old = System.out;
        final int exit;
        try {
            System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
            final picocli.CommandLine cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            exit = cl.execute(args);
        } finally {
            System.setOut(old);
        }
        return new Result(exit, sysOut.toString(StandardCharsets.UTF_8), err.toString());
    }

    private static Embedding embedding(final String id, final EmbeddingPath path, final int index, final int start,
                                       final int length, final int sequenceLength, final long flops,
                                       final long nanos, final boolean fin) {
        return Embedding.newBuilder().setSequenceId(id).setPath(path).setIndex(index).setStart(start)
                .setLength(length).setFinal$(fin).setVector(List.of(0.6f, 0.8f)).setModel(new ModelRef("m", "00"))
                .setMetrics(ComputeMetrics.newBuilder().setFlops(flops).setComputeNanos(nanos).setBatchSize(1)
                        .setBatchTokens(length).setPaddedTokens(0).setSequenceLength(sequenceLength)
                        .setStateBytes(0).setQueueMillis(0).setEndToEndMillis(0).setCacheHitTokens(start).build())
                .build();
    }

    private Path embeddingsFile() throws Exception {
        final List<String> lines = new ArrayList<>();
        // Dense: sequence a (24 tokens, 2 windows), sequence b (10 tokens, 1 window).
        lines.add(EmbeddingJson.write(embedding("a", EmbeddingPath.DENSE, 0, 0, 16, 16, 1000, 2_000_000, false)));
        lines.add(EmbeddingJson.write(embedding("a", EmbeddingPath.DENSE, 1, 8, 16, 24, 1000, 2_000_000, true)));
        lines.add(EmbeddingJson.write(embedding("b", EmbeddingPath.DENSE, 0, 0, 10, 10, 1000, 1_000_000, true)));
        // Attention encoder: a and b, one record each.
        lines.add(EmbeddingJson.write(embedding("a", EmbeddingPath.ATTENTION, 0, 0, 24, 24, 50_000, 3_000_000, true)));
        lines.add("");
        lines.add(EmbeddingJson.write(embedding("b", EmbeddingPath.ATTENTION, 0, 0, 10, 10, 20_000, 1_500_000, true)));
        // The same id embedded again, in the other mode: its own occurrence.
        lines.add(EmbeddingJson.write(embedding("c", EmbeddingPath.ATTENTION, 0, 0, 24, 24, 50_000, 3_000_000, true)));
        // Attention causal: c in three chunks of 8.
        for (int i = 0; i < 3; i++) {
            lines.add(EmbeddingJson.write(embedding("c", EmbeddingPath.ATTENTION, i, 8 * i, 8, 8 * (i + 1),
                    10_000 + 1000L * i, 1_000_000, i == 2)));
        }
        final Path p = dir.resolve("embeddings.jsonl");
        Files.write(p, lines, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void readsEmbeddingsPerSequenceAndPath() throws Exception {
        final Report.Data data = Report.read(embeddingsFile());
        assertThat(data.kind()).isEqualTo("embeddings JSONL");
        final Report.Series dense = data.series(Report.DENSE);
        assertThat(dense.points()).containsExactlyInAnyOrder(
                new Report.Point(24, 2000, 4.0), new Report.Point(10, 1000, 1.0));
        assertThat(data.series(Report.ENCODER).points()).containsExactlyInAnyOrder(
                new Report.Point(24, 50_000, 3.0), new Report.Point(10, 20_000, 1.5),
                new Report.Point(24, 50_000, 3.0));
        assertThat(data.series(Report.CAUSAL_SEQUENCE).points()).containsExactly(
                new Report.Point(24, 33_000, 3.0));
        assertThat(data.series(Report.CAUSAL_CHUNK).points()).extracting(Report.Point::length)
                .containsExactly(8.0, 16.0, 24.0);
    }

    @Test
    void readsBenchJson() throws Exception {
        final Path in = Files.writeString(dir.resolve("bench.json"), BENCH);
        final Report.Data data = Report.read(in);
        assertThat(data.kind()).isEqualTo("bench JSON");
        assertThat(data.subtitle()).contains("Haswell").contains("sgemm 140 GFLOP/s");
        assertThat(data.series(Report.ENCODER).points()).hasSize(3);
        // Dense per length from the window count: 16 -> 1 window, 64 -> 7, 512 -> 63; at 6.4 ms / 64 per window.
        final List<Report.Point> dense = data.series(Report.DENSE).points();
        assertThat(dense).extracting(Report.Point::flops).containsExactly(786432.0, 7 * 786432.0, 63 * 786432.0);
        assertThat(dense.get(1).ms()).isCloseTo(0.7, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(data.series(Report.RECOMPUTE).points()).extracting(Report.Point::length)
                .containsExactly(32.0, 512.0);
        assertThat(data.series().stream().map(Report.Series::name))
                .anyMatch(n -> n.startsWith(Report.CAUSAL_CHUNK));
    }

    @Test
    void writesPngOfBothKinds() throws Exception {
        final Path bench = Files.writeString(dir.resolve("bench.json"), BENCH);
        for (final Path in : List.of(bench, embeddingsFile())) {
            final Path png = dir.resolve(in.getFileName() + ".png");
            final Result r = run("report", "--input", in.toString(), "--output", png.toString());
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).contains("wrote " + png);
            final BufferedImage image = ImageIO.read(png.toFile());
            assertThat(image).isNotNull();
            assertThat(image.getWidth()).isEqualTo(Report.WIDTH);
            assertThat(image.getHeight()).isEqualTo(Report.HEIGHT);
        }
    }

    @Test
    void userErrorsAreOneLineWithExitTwo() throws Exception {
        final Path png = dir.resolve("out.png");
        final Path garbage = Files.writeString(dir.resolve("garbage.txt"), "hello\nworld\n");
        final Path notBench = Files.writeString(dir.resolve("other.json"), "{\"sgemm\": {}}");
        final Path empty = Files.writeString(dir.resolve("empty.json"), "  \n");
        final Path noEmbeddings = dir.resolve("nope.jsonl");
        for (final Path in : List.of(dir.resolve("missing.json"), garbage, notBench, empty)) {
            final Result r = run("report", "--input", in.toString(), "--output", png.toString());
            assertThat(r.exit()).as(in.toString()).isEqualTo(2);
            assertThat(r.err().lines().filter(l -> !l.isBlank()).toList()).as(r.err()).hasSize(1);
            assertThat(r.err()).startsWith("seqembed report: ").doesNotContain("Exception");
        }
        assertThat(png).doesNotExist();
        final Path bench = Files.writeString(dir.resolve("bench.json"), BENCH);
        final Result r = run("report", "--input", bench.toString(), "--output",
                dir.resolve("no-such-dir").resolve("x.png").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThatThrownBy(() -> Report.read(noEmbeddings)).isInstanceOf(UserException.class)
                .hasMessageContaining("no such file");
    }
}
