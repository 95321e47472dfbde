package dev.seqembed.metrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * Which models an instance computes with and how many replacements it refused (SPEC §10.5):
 * {@code seqembed_model_info{path,sha256}} is 1 for each model in use and removed when the model is retired;
 * {@code seqembed_model_load_failures_total{path}} counts models that failed to load. Thread-safe.
 */
public final class ModelMetrics {

    private final MeterRegistry registry;
    private final Map<Tags, Gauge> inUse = new ConcurrentHashMap<>();

    public ModelMetrics(final MeterRegistry registry) {
        this.registry = registry;
    }

    /** The model in {@code path} with this SHA-256 is in use. */
    public void inUse(final String path, final String sha256) {
        inUse.computeIfAbsent(Tags.of("path", path, "sha256", sha256), tags -> Gauge.builder("seqembed.model.info",
                () -> 1).tags(tags).description("1 for each model in use").register(registry));
    }

    /** The model is no longer used: its series disappears. */
    public void retired(final String path, final String sha256) {
        final Gauge g = inUse.remove(Tags.of("path", path, "sha256", sha256));
        if (g != null) {
            registry.remove(g);
        }
    }

    /** A changed model in {@code path} was refused. */
    public void loadFailure(final String path) {
        Counter.builder("seqembed.model.load.failures").tag("path", path)
                .description("Changed models that failed to load; the previous one kept serving")
                .register(registry).increment();
    }
}
