package dev.seqembed.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** What {@code /metrics} exposes for the embeddings' histograms: explicit buckets, a bounded number of lines. */
class TelemetryTest {

    private static final Pattern BUCKET = Pattern.compile("^(seqembed_\\w+)_bucket\\{(.*)\\} (\\S+)$");

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Telemetry telemetry = new Telemetry(registry);

    private static Embedding embedding(final EmbeddingPath path, final int length, final long flops,
                                       final long latencyMs) {
        return Embedding.newBuilder().setSequenceId("s").setPath(path).setIndex(0).setStart(0).setLength(length)
                .setFinal$(true).setVector(List.of(1f)).setModel(new ModelRef("m", "0"))
                .setMetrics(ComputeMetrics.newBuilder().setFlops(flops).setComputeNanos(1_000).setBatchSize(1)
                        .setBatchTokens(length).setPaddedTokens(0).setSequenceLength(length).setStateBytes(0)
                        .setQueueMillis(0).setEndToEndMillis(latencyMs).setCacheHitTokens(0).build())
                .build();
    }

    /** Bucket lines per series (metric name + labels without {@code le}), in exposition order. */
    private Map<String, List<String[]>> bucketsBySeries() {
        final Map<String, List<String[]>> series = new TreeMap<>();
        for (final String line : registry.scrape().split("\n")) {
            final Matcher m = BUCKET.matcher(line);
            if (m.matches()) {
                final String labels = m.group(2).replaceAll(",?le=\"[^\"]*\"", "");
                final String le = m.group(2).replaceAll(".*le=\"([^\"]*)\".*", "$1");
                series.computeIfAbsent(m.group(1) + "{" + labels + "}", k -> new java.util.ArrayList<>())
                        .add(new String[] {le, m.group(3)});
            }
        }
        return series;
    }

    @Test
    void everyHistogramSeriesHasTenToTwentyExplicitBuckets() {
        // A small mixed workload: both paths, every length bucket, latencies and FLOPs over their whole range.
        for (final EmbeddingPath path : EmbeddingPath.values()) {
            for (final int length : new int[] {16, 48, 100, 200, 400, 900}) {
                for (final long latency : new long[] {1, 40, 120, 900, 7_000, 100_000}) {
                    telemetry.embedding(embedding(path, length, 786_432L * length, latency));
                }
            }
        }
        final Map<String, List<String[]>> series = bucketsBySeries();
        // 2 paths x 6 length buckets x 2 histograms (latency, FLOPs).
        assertThat(series).hasSize(24);
        series.forEach((name, buckets) -> {
            assertThat(buckets).as(name).hasSizeBetween(10, 20);
            assertThat(buckets.get(buckets.size() - 1)[0]).as(name).isEqualTo("+Inf");
            assertThat(Double.parseDouble(buckets.get(buckets.size() - 1)[1])).as(name).isEqualTo(6.0);
        });
        final int lines = series.values().stream().mapToInt(List::size).sum();
        assertThat(lines).isEqualTo(24 * 14);
    }

    @Test
    void latencyBucketsCountRecordsAtOrBelowTheirBound() {
        for (final long latency : new long[] {3, 100, 120, 480, 2_000}) {
            telemetry.embedding(embedding(EmbeddingPath.DENSE, 16, 786_432L, latency));
        }
        final List<String[]> buckets = bucketsBySeries().get(
                "seqembed_end_to_end_seconds{length_bucket=\"le32\",path=\"dense\"}");
        final Map<String, Double> cumulative = new TreeMap<>();
        buckets.forEach(b -> cumulative.put(b[0], Double.parseDouble(b[1])));
        assertThat(cumulative).containsEntry("0.005", 1.0).containsEntry("0.1", 2.0).containsEntry("0.25", 3.0)
                .containsEntry("0.5", 4.0).containsEntry("1.0", 4.0).containsEntry("2.5", 5.0)
                .containsEntry("+Inf", 5.0);
    }

    @Test
    void flopsBucketsSpanDenseWindowsToLongEncoderSequences() {
        telemetry.embedding(embedding(EmbeddingPath.DENSE, 16, 786_432L, 1));
        telemetry.embedding(embedding(EmbeddingPath.DENSE, 16, 2_000_000_000L, 1));
        final Map<String, Double> cumulative = new TreeMap<>();
        bucketsBySeries().get("seqembed_record_flops{length_bucket=\"le32\",path=\"dense\"}")
                .forEach(b -> cumulative.put(b[0], Double.parseDouble(b[1])));
        assertThat(cumulative).containsEntry("300000.0", 0.0).containsEntry("1000000.0", 1.0)
                .containsEntry("1.0E9", 1.0).containsEntry("3.0E9", 2.0);
    }
}
