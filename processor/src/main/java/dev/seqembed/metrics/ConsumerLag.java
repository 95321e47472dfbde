package dev.seqembed.metrics;

import java.util.Map;

import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@code seqembed_consumer_lag_records{client}}: records waiting in the input partitions this instance's Kafka Streams
 * client is assigned, summed from the consumers' own per-partition {@code records-lag} (the distance from the
 * position to the high watermark, updated on every fetch): no extra requests to the broker. The ingest client's lag
 * is what waits before validation and the dense path; the attention client's is what waits, already validated,
 * before attention. Restore consumers (state rebuilds) are not counted.
 */
public final class ConsumerLag {

    static final String GROUP = "consumer-fetch-manager-metrics";
    static final String LAG = "records-lag";

    private ConsumerLag() {
    }

    /** Registers the gauge for one client, e.g. {@code client="ingest"}. */
    public static void bind(final MeterRegistry registry, final String client, final KafkaStreams streams) {
        Gauge.builder("seqembed.consumer.lag", streams, s -> sum(s.metrics())).tag("client", client)
                .baseUnit("records")
                .description("Records in the assigned input partitions not yet consumed (sum of records-lag)")
                .register(registry);
    }

    /** Sum of the per-partition {@code records-lag} of the main consumers in {@code metrics}. */
    static double sum(final Map<MetricName, ? extends Metric> metrics) {
        double total = 0;
        for (final Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet()) {
            final MetricName name = e.getKey();
            if (!name.name().equals(LAG) || !name.group().equals(GROUP) || !name.tags().containsKey("partition")) {
                continue;
            }
            final String clientId = name.tags().getOrDefault("client-id", "");
            if (clientId.endsWith("restore-consumer")) {
                continue;
            }
            final Object value = e.getValue().metricValue();
            if (value instanceof Number n && !Double.isNaN(n.doubleValue())) {
                total += n.doubleValue();
            }
        }
        return total;
    }
}
