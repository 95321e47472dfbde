package dev.seqembed.runtime;

import java.util.Set;

import org.apache.kafka.common.Metric;
import org.apache.kafka.streams.KafkaStreams;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Total state held per path ({@code seqembed_state_store_bytes{path}}): the RocksDB files plus memtables of every
 * store of the client that runs the path (ingest = dense path, including validation and the windower), summed from
 * Kafka Streams' RocksDB property metrics. With {@code seqembed_rocksdb_cache_bytes} (the shared block cache that
 * memtables are charged to, see {@link BoundedRocksDbConfig}) it shows whether state stays bounded.
 */
final class StateSizeGauge {

    private static final String GROUP = "stream-state-metrics";
    private static final Set<String> SIZES = Set.of("total-sst-files-size", "size-all-mem-tables");

    private StateSizeGauge() {
    }

    /**
     * Registers the gauges for the clients that run here.
     *
     * @param ingest    the ingest client, or null when the role does not run it
     * @param attention the attention client, or null likewise
     */
    static void register(final MeterRegistry registry, final KafkaStreams ingest, final KafkaStreams attention) {
        if (ingest != null) {
            gauge(registry, "dense", ingest);
        }
        if (attention != null) {
            gauge(registry, "attention", attention);
        }
        Gauge.builder("seqembed.rocksdb.cache.bytes", BoundedRocksDbConfig::cacheUsage).baseUnit("bytes")
                .description("Off-heap memory in the RocksDB block cache shared by all stores, memtables included")
                .register(registry);
    }

    private static void gauge(final MeterRegistry registry, final String path, final KafkaStreams client) {
        Gauge.builder("seqembed.state.store.bytes", client, StateSizeGauge::bytes).tag("path", path)
                .baseUnit("bytes").description("State of the path's stores: RocksDB files and memtables")
                .register(registry);
    }

    /** Sum of the RocksDB size metrics over the client's stores (0 before any task is assigned). */
    static double bytes(final KafkaStreams client) {
        double sum = 0;
        for (final Metric m : client.metrics().values()) {
            if (GROUP.equals(m.metricName().group()) && SIZES.contains(m.metricName().name())
                    && m.metricValue() instanceof Number n) {
                sum += n.doubleValue();
            }
        }
        return sum;
    }
}
