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

    /**
     * Upper bounds of the end-to-end latency histogram: a window of the dense path takes milliseconds, a commit
     * under exactly-once ~100 ms, a long attention sequence behind a backlog seconds to minutes. Explicit bounds
     * (14 buckets with +Inf) instead of micrometer's percentile histogram (~70 per series, ×paths×lengths).
     */
    static final Duration[] LATENCY_BUCKETS = {Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
            Duration.ofSeconds(30), Duration.ofSeconds(60)};

    /**
     * Upper bounds of the per-record FLOPs histogram, 1-3-10 steps: from a small dense window (~1e5; the default
     * one is 7.9e5) to a 512-token sequence through a MiniLM-sized encoder (~2e10).
     */
    static final double[] FLOPS_BUCKETS = {1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8, 3e8, 1e9, 3e9, 1e10, 3e10, 1e11};

    private final MeterRegistry registry;
    private final Counter recordsIn;
    private final Counter evicted;
    private final Map<String, AtomicLong> stateBytes = new ConcurrentHashMap<>();
    /** Per path and length bucket ({@code ordinal * 16 + bucket}), created on first use. */
    private final Map<Integer, PathMeters> pathMeters = new ConcurrentHashMap<>();

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

    /** An output record that could not be produced and was dropped (SPEC §10.6). */
    public void outputDropped(final String topic, final String reason) {
        registry.counter("seqembed.output.dropped", "topic", topic, "reason", reason).increment();
    }

    /** Idle sequences evicted by the punctuator. */
    public void evicted(final int count) {
        evicted.increment(count);
    }

    /** One embedding published: its cost and latency. */
    public void embedding(final Embedding e) {
        final ComputeMetrics m = e.getMetrics();
        final int length = m.getSequenceLength();
        // Meters looked up once per path and length bucket: a registry lookup builds ids and hashes tags, which
        // showed in profiles of the dense path (one call per window).
        final PathMeters meters = pathMeters.computeIfAbsent(
                e.getPath().ordinal() * 16 + LengthBuckets.indexOf(length),
                k -> new PathMeters(e.getPath().name().toLowerCase(java.util.Locale.ROOT), LengthBuckets.label(length)));
        meters.embeddings.increment();
        meters.flops.increment(m.getFlops());
        meters.recordFlops.record(m.getFlops());
        meters.computeSeconds.increment(m.getComputeNanos() / 1e9);
        meters.endToEnd.record(Duration.ofMillis(Math.max(0, m.getEndToEndMillis())));
        meters.batchSize.record(m.getBatchSize());
        meters.stateBytes.set(m.getStateBytes());
    }

    /** The meters of one path and length bucket (registered on first use: unused buckets stay off /metrics). */
    private final class PathMeters {
        final Counter embeddings;
        final Counter flops;
        final DistributionSummary recordFlops;
        final Counter computeSeconds;
        final Timer endToEnd;
        final DistributionSummary batchSize;
        final AtomicLong stateBytes;

        PathMeters(final String path, final String bucket) {
            embeddings = registry.counter("seqembed.embeddings", "path", path);
            flops = registry.counter("seqembed.flops", "path", path, "length_bucket", bucket);
            // Per-record cost as a histogram too: the spread by path and length, not only the total.
            recordFlops = DistributionSummary.builder("seqembed.record.flops").tags("path", path, "length_bucket", bucket)
                    .serviceLevelObjectives(FLOPS_BUCKETS).register(registry);
            computeSeconds = registry.counter("seqembed.compute.seconds", "path", path);
            endToEnd = Timer.builder("seqembed.end.to.end").tags("path", path, "length_bucket", bucket)
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
            batchSize = DistributionSummary.builder("seqembed.batch.size").tag("path", path).register(registry);
            stateBytes = Telemetry.this.stateBytes.computeIfAbsent(path, p -> {
                final AtomicLong holder = new AtomicLong();
                Gauge.builder("seqembed.state.bytes", holder, AtomicLong::get).tag("path", p)
                        .description("State held by the last sequence computed").register(registry);
                return holder;
            });
        }
    }
}
