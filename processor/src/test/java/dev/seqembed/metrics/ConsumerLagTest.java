package dev.seqembed.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.junit.jupiter.api.Test;

/** The lag gauge sums the main consumers' per-partition records-lag and nothing else. */
class ConsumerLagTest {

    private final Map<MetricName, Metric> metrics = new HashMap<>();

    private void add(final String name, final String group, final Map<String, String> tags, final double value) {
        final MetricName metricName = new MetricName(name, group, "", tags);
        metrics.put(metricName, new Metric() {
            @Override
            public MetricName metricName() {
                return metricName;
            }

            @Override
            public Object metricValue() {
                return value;
            }
        });
    }

    private static Map<String, String> partition(final String clientId, final int partition) {
        return Map.of("client-id", clientId, "topic", "tokens", "partition", String.valueOf(partition));
    }

    @Test
    void sumsPerPartitionLagOfMainConsumers() {
        add("records-lag", ConsumerLag.GROUP, partition("app-1-StreamThread-1-consumer", 0), 5);
        add("records-lag", ConsumerLag.GROUP, partition("app-1-StreamThread-1-consumer", 1), 7);
        add("records-lag", ConsumerLag.GROUP, partition("app-1-StreamThread-2-consumer", 2), 3);
        // Not counted: a state restore, a partition not fetched yet, the client-wide maximum, other groups.
        add("records-lag", ConsumerLag.GROUP, partition("app-1-StreamThread-1-restore-consumer", 0), 1000);
        add("records-lag", ConsumerLag.GROUP, partition("app-1-StreamThread-1-consumer", 3), Double.NaN);
        add("records-lag-max", ConsumerLag.GROUP, Map.of("client-id", "app-1-StreamThread-1-consumer"), 7);
        add("records-lag", "other-group", partition("app-1-StreamThread-1-consumer", 0), 50);
        assertThat(ConsumerLag.sum(metrics)).isEqualTo(15.0);
    }

    @Test
    void noAssignedPartitionsIsZero() {
        assertThat(ConsumerLag.sum(metrics)).isZero();
    }
}
