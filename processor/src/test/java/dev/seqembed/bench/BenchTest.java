package dev.seqembed.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * The cheap sections of {@code bench} with tiny sizes and the small test models: the JSON they produce has the
 * documented structure (no timing assertions, SPEC §8). The end-to-end section is exercised by running the jar.
 */
class BenchTest {

    @TempDir
    static Path dir;

    private static Models models;

    private static final Bench.Sizes TINY = new Bench.Sizes(64, 1, 2, 1, new int[] {1, 4}, new int[] {8, 16, 128},
            new int[] {8, 16}, 4, 10, 16, 10_000);

    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
    private final Bench bench = new Bench(TINY, new PrintStream(printed, true, StandardCharsets.UTF_8));

    @BeforeAll
    static void writeModels() throws Exception {
        models = TestModels.write(dir.resolve("m"));
    }

    private String printed() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    @Test
    void environmentNamesKernelThreadsCpuAndJava() {
        final ObjectNode env = bench.environment(true);
        for (final String key : List.of("openblas_coretype", "openblas_coretype_source", "active_core",
                "native_threads", "cpu_model", "java_version", "blas_self_check")) {
            assertThat(env.path(key).asText()).as(key).isNotBlank();
        }
        assertThat(env.get("quick").asBoolean()).isTrue();
        assertThat(printed()).contains("== environment").contains("active_core");
    }

    @Test
    void sgemmAndDenseSections() {
        final ObjectNode sgemm = bench.sgemm();
        assertThat(sgemm.get("n").asInt()).isEqualTo(64);
        assertThat(sgemm.get("flops").asLong()).isEqualTo(2L * 64 * 64 * 64);
        assertThat(sgemm.get("gflops").isNumber()).isTrue();
        assertThat(sgemm.get("reps").asInt()).isGreaterThanOrEqualTo(2);

        final ArrayNode dense = bench.dense(models.dense(), sgemm.get("gflops").asDouble());
        assertThat(dense).hasSize(2);
        assertThat(dense.get(0).get("batch").asInt()).isEqualTo(1);
        assertThat(dense.get(1).get("batch").asInt()).isEqualTo(4);
        for (final JsonNode row : dense) {
            assertThat(row.get("flops").asLong())
                    .isEqualTo(row.get("batch").asLong() * TestModels.DENSE.flopsPerWindow());
            for (final String key : List.of("ms", "best_ms", "gflops", "ratio_to_sgemm", "windows_per_s")) {
                assertThat(row.get(key).isNumber()).as(key).isTrue();
            }
        }
        assertThat(printed()).contains("== plain sgemm 64x64x64").contains("vs sgemm");
    }

    @Test
    void encoderAndCausalSections() {
        // The test BERT has 64 positions: length 128 is skipped, as is any prefix + chunk beyond 64.
        final ArrayNode encoder = bench.encoder(models.attention());
        assertThat(encoder).extracting(r -> r.get("length").asInt()).containsExactly(8, 16);
        for (final JsonNode row : encoder) {
            final int n = row.get("length").asInt();
            assertThat(row.get("flops").asLong()).isEqualTo(TestModels.BERT.flops(n, n));
            assertThat(row.get("ms").isNumber()).isTrue();
        }
        final ArrayNode causal = bench.causal(models.attention());
        assertThat(causal).extracting(r -> r.get("prefix").asInt()).containsExactly(8, 16);
        for (final JsonNode row : causal) {
            final int p = row.get("prefix").asInt();
            assertThat(row.get("chunk").asInt()).isEqualTo(4);
            assertThat(row.get("flops_cached").asLong()).isEqualTo(TestModels.BERT.flops(4, p + 4));
            assertThat(row.get("flops_recompute").asLong()).isEqualTo(TestModels.BERT.flops(p + 4, p + 4));
            assertThat(row.get("cached_ms").isNumber()).isTrue();
            assertThat(row.get("recompute_ms").isNumber()).isTrue();
        }
        assertThat(printed()).contains("== attention encoder").contains("== attention causal");

        // 8 sequences, a chunk of 4 each on 60 cached tokens (chunks of 64 do not fit the test model's 64
        // positions); one sequence, 8 chunks of 4 on 32 cached tokens.
        final ArrayNode batch = bench.causalBatch(models.attention());
        assertThat(batch).extracting(r -> r.get("sequences").asInt() + "x" + r.get("chunks").asInt() + "@"
                + r.get("prefix").asInt() + "+" + r.get("chunk").asInt()).containsExactly("8x1@60+4", "1x8@32+4");
        assertThat(batch).allSatisfy(row -> {
            assertThat(row.get("one_by_one_tokens_per_s").asLong()).isPositive();
            assertThat(row.get("batched_tokens_per_s").asLong()).isPositive();
            assertThat(row.get("speedup").isNumber()).isTrue();
        });
        assertThat(printed()).contains("== attention causal micro-batch");
    }

    @Test
    void quickAndFullSizesStayWithinTheDefaultModel() {
        for (final Bench.Sizes s : List.of(Bench.Sizes.quick(), Bench.Sizes.full())) {
            assertThat(s.encoderLengths()).containsExactly(16, 32, 64, 128, 256, 512);
            assertThat(s.causalPrefixes()[0]).isEqualTo(16);
            assertThat(s.causalPrefixes()[s.causalPrefixes().length - 1] + s.causalChunk()).isEqualTo(512);
            assertThat(s.denseBatches()).containsExactly(1, 8, 64, 256);
        }
    }
}
