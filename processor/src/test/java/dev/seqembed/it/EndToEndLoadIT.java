package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.seqembed.bench.EndToEndLoad;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * {@code bench --e2e} at a tiny size with the small test models on its own in-JVM broker: every phase completes
 * (each embedding arrives) and the JSON has SPEC §10.7's keys, in both attention modes. No timing is asserted.
 */
class EndToEndLoadIT {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"encoder", "causal"})
    void everyPhaseCompletesAndTheJsonHasTheSpecKeys(final String mode) throws Exception {
        final Models models = TestModels.write(dir.resolve("models"));
        final ByteArrayOutputStream printed = new ByteArrayOutputStream();
        // The test BERT has 64 positions: sequences up to 40 tokens, chunks of 16.
        final EndToEndLoad.Sizes sizes = new EndToEndLoad.Sizes(3_000, 8, 40, 16, 5, 2, 120_000, 1);
        final ObjectNode e2e = new EndToEndLoad(sizes, SeqembedConfig.from(Map.of("topic.partitions", "2",
                        "attention.mode", mode)),
                new PrintStream(printed, true, StandardCharsets.UTF_8)).run(models);

        assertThat(e2e.get("tokens").asLong()).isGreaterThanOrEqualTo(3_000);
        assertThat(e2e.get("complete").asBoolean()).as(printed.toString(StandardCharsets.UTF_8)).isTrue();
        assertThat(e2e.at("/ingest_only/complete").asBoolean()).isTrue();
        assertThat(e2e.at("/half_rate/complete").asBoolean()).isTrue();
        for (final String key : List.of("produce_tokens_per_s", "passthrough_tokens_per_s", "dense_tokens_per_s",
                "attention_tokens_per_s", "dense_compute_utilisation", "attention_compute_utilisation",
                "ingest_only/dense_tokens_per_s", "ingest_only/dense_compute_utilisation",
                "half_rate/dense/p50_ms", "half_rate/dense/p99_ms", "half_rate/attention/p50_ms",
                "half_rate/attention/p99_ms")) {
            final JsonNode v = e2e.at("/" + key);
            assertThat(v.isNumber()).as(key).isTrue();
        }
        for (final String key : List.of("produce_tokens_per_s", "passthrough_tokens_per_s", "dense_tokens_per_s",
                "attention_tokens_per_s", "dense_compute_utilisation", "attention_compute_utilisation")) {
            assertThat(e2e.get(key).asDouble()).as(key).isPositive();
        }
        // Every dense window and every attention sequence of the half-rate run came out once.
        for (final String path : List.of("dense", "attention")) {
            assertThat(e2e.at("/half_rate/" + path + "/expected").asLong()).isPositive();
            assertThat(e2e.at("/half_rate/" + path + "/records").asLong())
                    .isEqualTo(e2e.at("/half_rate/" + path + "/expected").asLong());
        }
        // Encoder mode embeds each sequence once, causal mode each chunk.
        assertThat(e2e.at("/half_rate/attention/expected").asLong()).isEqualTo(
                e2e.at(mode.equals("causal") ? "/half_rate/chunks" : "/half_rate/sequences").asLong());
        assertThat(e2e.get("attention_mode").asText()).isEqualTo(mode);
        assertThat(e2e.at("/half_rate/dense/p99_ms").asLong())
                .isGreaterThanOrEqualTo(e2e.at("/half_rate/dense/p50_ms").asLong());
        assertThat(printed.toString(StandardCharsets.UTF_8)).contains("pass-through").contains("half rate")
                .contains("warm-up round 1");
        assertThat(e2e.get("warm_up_seconds").asInt()).isEqualTo(1);
    }
}
