package dev.seqembed.runtime;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.config.Role;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.metrics.ConsumerLag;
import dev.seqembed.metrics.ModelMetrics;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.processor.ProcessingErrorHandler;
import dev.seqembed.processor.ProcessingFailure;
import dev.seqembed.topology.Models;
import dev.seqembed.topology.SeqembedTopology;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * One running processor instance: two Kafka Streams clients (ingest with the dense path, and attention; see
 * {@link SeqembedTopology}), or one of them by {@code role} (SPEC §10.4), their metrics and the HTTP endpoints. Used by {@code run}, {@code demo} and
 * {@code bench}.
 */
public final class SeqembedApp implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SeqembedApp.class);

    private final SeqembedConfig config;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Telemetry telemetry = new Telemetry(registry);
    private final Role role;
    /** Null when the role does not run it. */
    private final KafkaStreams ingest;
    /** Null when the role does not run it. */
    private final KafkaStreams attention;
    private final HttpEndpoints http;
    private final ModelWatcher watcher;
    private final List<KafkaStreamsMetrics> streamsMetrics = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean runningLogged = new AtomicBoolean();
    private volatile long startedNanos;

    private SeqembedApp(final SeqembedConfig config, final Models models) throws Exception {
        this.config = config;
        this.role = config.role();
        if (config.createTopics()) {
            Topics.ensure(config);
        }
        final String attentionId = config.applicationId() + SeqembedTopology.ATTENTION_APP_SUFFIX;
        final Properties props = config.streamsProperties();
        InstanceIdentity.apply(props, config, config.applicationId());
        final Properties attentionProps = config.streamsProperties();
        attentionProps.put(StreamsConfig.APPLICATION_ID_CONFIG, attentionId);
        InstanceIdentity.apply(attentionProps, config, attentionId);
        BoundedRocksDbConfig.applyDefault(props);
        BoundedRocksDbConfig.applyDefault(attentionProps);
        final LiveModels live = models.live();
        this.watcher = watcher(config, live);
        this.ingest = role.runsIngest()
                ? client("ingest", SeqembedTopology.ingest(config, live, telemetry), props) : null;
        this.attention = role.runsAttention()
                ? client("attention", SeqembedTopology.attention(config, live, telemetry), attentionProps) : null;
        StateSizeGauge.register(registry, ingest, attention);
        // Heap and direct buffers beside the RocksDB figures: where the process's memory goes.
        new JvmMemoryMetrics().bindTo(registry);
        this.http = config.httpPort() > 0 ? new HttpEndpoints(config.httpPort(), registry, ingest, attention, config,
                props.getProperty(StreamsConfig.APPLICATION_SERVER_CONFIG, "")) : null;
        LOG.info("role {}: models: dense {} ({}), attention {} ({}), attention.mode={}", role.cliName(),
                models.dense().id(), models.dense().sha256().substring(0, 12), models.attention().id(),
                models.attention().sha256().substring(0, 12), config.attentionMode().cliName());
    }

    /** The model watcher of SPEC §10.5, when watching is on and the model directories are known. */
    private ModelWatcher watcher(final SeqembedConfig config, final LiveModels live) {
        final String dense = config.get(SeqembedConfig.DENSE_MODEL);
        final String attention = config.get(SeqembedConfig.ATTENTION_MODEL);
        if (!config.modelsWatch() || dense == null || attention == null) {
            return null;
        }
        final ModelWatcher w = new ModelWatcher(live, Path.of(dense), Path.of(attention), new ModelMetrics(registry));
        w.start(config.modelsWatchIntervalMs());
        return w;
    }

    private KafkaStreams client(final String name, final Topology topology, final Properties props) {
        ProcessingErrorHandler.install(props, telemetry);
        final KafkaStreams streams = new KafkaStreams(topology, props);
        streams.setGlobalStateRestoreListener(new RestoreLog(name));
        // Records that fail are dead-lettered by ProcessingErrorHandler; what still ends a thread is not about one
        // record (a store, the producer, a bug): replacing the thread would only reprocess the same input forever.
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("{} client stopping after a fatal error: {}", name, ProcessingFailure.describe(e));
            LOG.debug("{} client fatal error", name, e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            LOG.info("{} streams {} -> {}", name, before, now);
            if (now == KafkaStreams.State.RUNNING) {
                logFirstRunning();
            }
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                stopped.countDown();
            }
        });
        final KafkaStreamsMetrics metrics = new KafkaStreamsMetrics(streams);
        metrics.bindTo(registry);
        streamsMetrics.add(metrics);
        ConsumerLag.bind(registry, name, streams);
        return streams;
    }

    /** Creates topics when allowed, builds the topology and starts it. */
    public static SeqembedApp start(final SeqembedConfig config, final Models models) throws Exception {
        final SeqembedApp app = new SeqembedApp(config, models);
        app.startedNanos = System.nanoTime();
        for (final KafkaStreams c : app.clients()) {
            c.start();
        }
        return app;
    }

    /**
     * Logs once when all clients first reach RUNNING: the time-to-RUNNING of a (re)started instance, from the
     * clients' start and from the JVM's.
     */
    private void logFirstRunning() {
        if (clients().stream().allMatch(c -> c.state() == KafkaStreams.State.RUNNING)
                && runningLogged.compareAndSet(false, true)) {
            LOG.info("processor RUNNING {} ms after its clients started, {} ms after the JVM started",
                    (System.nanoTime() - startedNanos) / 1_000_000,
                    System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime());
        }
    }

    /** The clients this instance's role runs: ingest, attention or both. */
    private List<KafkaStreams> clients() {
        final List<KafkaStreams> out = new ArrayList<>(2);
        if (ingest != null) {
            out.add(ingest);
        }
        if (attention != null) {
            out.add(attention);
        }
        return out;
    }

    /** The running clients' states, for messages: "ingest RUNNING, attention RUNNING". */
    public String state() {
        final List<String> parts = new ArrayList<>(2);
        if (ingest != null) {
            parts.add("ingest " + ingest.state());
        }
        if (attention != null) {
            parts.add("attention " + attention.state());
        }
        return String.join(", ", parts);
    }

    /** Whether a client has failed. */
    public boolean failed() {
        return clients().stream().anyMatch(c -> c.state() == KafkaStreams.State.ERROR);
    }

    public Telemetry telemetry() {
        return telemetry;
    }

    /** Waits until the role's clients are RUNNING. */
    public boolean awaitRunning(final Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (clients().stream().allMatch(c -> c.state() == KafkaStreams.State.RUNNING)) {
                return true;
            }
            if (stopped.getCount() == 0) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** Blocks until either client has stopped or failed. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.close();
        }
        if (http != null) {
            http.close();
        }
        // Leave the groups on an orderly stop: the partitions move at once instead of after the session timeout.
        final CloseOptions leave = CloseOptions.timeout(Duration.ofSeconds(30))
                .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP);
        for (final KafkaStreams c : clients()) {
            c.close(leave);
        }
        streamsMetrics.forEach(KafkaStreamsMetrics::close);
        registry.close();
        LOG.info("processor {} stopped", config.applicationId());
    }
}
