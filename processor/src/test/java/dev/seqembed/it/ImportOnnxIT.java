package dev.seqembed.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.seqembed.testing.MiniLm;
import dev.seqembed.testing.OnnxRuntimeEncoder;
import dev.seqembed.testing.VectorDistance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's way to a real model, as a user runs it: {@code java -jar seqembed.jar import-onnx} on the
 * langchain4j all-MiniLM-L6-v2 jar from the local Maven repository, then {@code embed --path attention} with the
 * imported directory; the vectors equal ONNX Runtime's on the same ids to 1e-5 relative. Also checks that the
 * shaded jar carries none of the test-scope peers (ONNX Runtime, the model jar, JMH).
 */
class ImportOnnxIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path JAR = Path.of("target", "seqembed.jar").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void importedMiniLmEmbedsThroughTheJarLikeOnnxRuntime() throws Exception {
        final Path model = dir.resolve("minilm");
        final Run imported = java("import-onnx", "--input", MiniLm.jar().toString(), "--out", model.toString());
        assertThat(imported.exitCode()).as(imported.stderr()).isZero();
        assertThat(model.resolve("tokenizer.json")).exists();

        final int[][] sequences = {MiniLm.tokens(1, 1), MiniLm.tokens(2, 9), MiniLm.tokens(3, 128),
            MiniLm.tokens(4, 512)};
        final StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < sequences.length; i++) {
            jsonl.append("{\"sequence_id\":\"s").append(i).append("\",\"tokens\":")
                    .append(Arrays.toString(sequences[i])).append("}\n");
        }
        final Path input = Files.writeString(dir.resolve("in.jsonl"), jsonl);
        final Path output = dir.resolve("out.jsonl");
        final Run embed = java("embed", "--path", "attention", "--model", model.toString(), "--input",
                input.toString(), "--output", output.toString());
        assertThat(embed.exitCode()).as(embed.stderr()).isZero();

        final List<JsonNode> lines = new ArrayList<>();
        for (final String line : Files.readAllLines(output)) {
            if (!line.isBlank()) {
                lines.add(JSON.readTree(line));
            }
        }
        assertThat(lines).hasSize(sequences.length);
        try (OnnxRuntimeEncoder peer = new OnnxRuntimeEncoder(MiniLm.onnxBytes(), 2)) {
            for (int i = 0; i < sequences.length; i++) {
                final JsonNode e = lines.get(i);
                assertThat(e.get("sequence_id").asText()).isEqualTo("s" + i);
                final float[] vector = new float[e.get("vector").size()];
                for (int j = 0; j < vector.length; j++) {
                    vector[j] = (float) e.get("vector").get(j).asDouble();
                }
                final double[] expected = peer.embed(new int[][] {sequences[i]})[0];
                assertThat(VectorDistance.relativeL2(vector, expected)).as("T=" + sequences[i].length)
                        .isLessThanOrEqualTo(1e-5);
            }
        }
    }

    @Test
    void theShadedJarCarriesNoTestScopePeer() throws IOException {
        assertThat(JAR).as("the shaded jar is built before the integration tests").exists();
        try (ZipFile zip = new ZipFile(JAR.toFile())) {
            final List<String> leaked = zip.stream().map(java.util.zip.ZipEntry::getName)
                    .filter(n -> n.startsWith("ai/onnxruntime/") || n.startsWith("dev/langchain4j/")
                            || n.endsWith(".onnx") || n.startsWith("org/openjdk/jmh/"))
                    .limit(5).toList();
            assertThat(leaked).isEmpty();
            assertThat(zip.getEntry("com/google/protobuf/CodedInputStream.class")).as("import-onnx's reader")
                    .isNotNull();
        }
    }

    /** A finished {@code java -jar seqembed.jar} run and the file holding its stderr. */
    private record Run(int exitCode, Path err) {
        String stderr() throws IOException {
            return Files.readString(err);
        }
    }

    private Run java(final String... args) throws IOException, InterruptedException {
        final List<String> command = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin"
                + File.separator + "java", "-Xmx1g", "-jar", JAR.toString()));
        command.addAll(List.of(args));
        final Path err = dir.resolve(args[0] + ".err");
        // The test's own OPENBLAS_* / OMP_* environment (if any) is inherited, never changed.
        final Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile()).start();
        return new Run(p.waitFor(), err);
    }
}
