package dev.seqembed.metrics;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.engine.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The processor's metrics: the numbers each Embedding carries, aggregated for Prometheus (SPEC §9).
 * Thread-safe; shared by all stream threads of an instance.
 */
public final class Telemetry {

    private static final int[] LENGTH_BUCKETS = {32, 64, 128, 256, 512};

    private final MeterRegistry registry;
    private final Counter recordsIn;
    private final Counter evicted;
    private final Map<String, AtomicLong> stateBytes = new ConcurrentHashMap<>();

    public Telemetry(final MeterRegistry registry) {
        this.registry = registry;
        this.recordsIn = Counter.builder("seqembed.records.in").description("Token chunks read").register(registry);
        this.evicted = Counter.builder("seqembed.sequences.evicted")
                .description("Idle sequences whose state was dropped").register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** One input record read. */
    public void recordIn() {
        recordsIn.increment();
    }

    /** One record dead-lettered. */
    public void deadLetter(final ErrorCode reason) {
        registry.counter("seqembed.dlq", "reason", reason.name()).increment();
    }

    /** Idle sequences evicted by the punctuator. */
    public void evicted(final int count) {
        evicted.increment(count);
    }

    /** One embedding published: its cost and latency. */
    public void embedding(final Embedding e) {
        final String path = e.getPath().name().toLowerCase(java.util.Locale.ROOT);
        final ComputeMetrics m = e.getMetrics();
        registry.counter("seqembed.embeddings", "path", path).increment();
        final String bucket = lengthBucket(m.getSequenceLength());
        registry.counter("seqembed.flops", "path", path, "length_bucket", bucket).increment(m.getFlops());
        // Per-record cost as a histogram too: the spread by path and length, not only the total.
        DistributionSummary.builder("seqembed.record.flops").tags("path", path, "length_bucket", bucket)
                .publishPercentileHistogram().register(registry).record(m.getFlops());
        registry.counter("seqembed.compute.seconds", "path", path).increment(m.getComputeNanos() / 1e9);
        Timer.builder("seqembed.end.to.end").tags("path", path, "length_bucket", bucket).publishPercentileHistogram()
                .register(registry).record(Duration.ofMillis(Math.max(0, m.getEndToEndMillis())));
        DistributionSummary.builder("seqembed.batch.size").tag("path", path).register(registry)
                .record(m.getBatchSize());
        stateBytes.computeIfAbsent(path, p -> {
            final AtomicLong holder = new AtomicLong();
            Gauge.builder("seqembed.state.bytes", holder, AtomicLong::get).tag("path", p)
                    .description("State held by the last sequence computed").register(registry);
            return holder;
        }).set(m.getStateBytes());
    }

    /** A Prometheus-friendly label for a sequence length: "le32", "le64", …, "gt512". */
    public static String lengthBucket(final int length) {
        for (final int b : LENGTH_BUCKETS) {
            if (length <= b) {
                return "le" + b;
            }
        }
        return "gt" + LENGTH_BUCKETS[LENGTH_BUCKETS.length - 1];
    }
}
