package dev.seqembed.app;

import java.time.Duration;
import java.util.Properties;

import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.topology.Models;
import dev.seqembed.topology.SeqembedTopology;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * One running processor instance: the Kafka Streams application, its metrics and its HTTP endpoints.
 * Used by {@code run} and {@code demo}.
 */
public final class SeqembedApp implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SeqembedApp.class);

    private final SeqembedConfig config;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Telemetry telemetry = new Telemetry(registry);
    private final KafkaStreams streams;
    private final HttpEndpoints http;
    private final KafkaStreamsMetrics streamsMetrics;
    private final java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);

    private SeqembedApp(final SeqembedConfig config, final Models models) throws Exception {
        this.config = config;
        if (config.createTopics()) {
            Topics.ensure(config);
        }
        final Topology topology = SeqembedTopology.build(config, models, telemetry);
        final Properties props = config.streamsProperties();
        if (config.httpPort() > 0 && !props.containsKey(StreamsConfig.APPLICATION_SERVER_CONFIG)) {
            // Interactive queries redirect to the instance holding a key: advertise a name other instances resolve.
            props.put(StreamsConfig.APPLICATION_SERVER_CONFIG, advertisedHost() + ":" + config.httpPort());
        }
        this.streams = new KafkaStreams(topology, props);
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("stream thread failed; replacing it", e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.setStateListener((now, before) -> {
            LOG.info("streams {} -> {}", before, now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                stopped.countDown();
            }
        });
        this.streamsMetrics = new KafkaStreamsMetrics(streams);
        streamsMetrics.bindTo(registry);
        this.http = config.httpPort() > 0 ? new HttpEndpoints(config.httpPort(), registry, streams, config,
                props.getProperty(StreamsConfig.APPLICATION_SERVER_CONFIG, "")) : null;
        LOG.info("models: dense {} ({}), attention {} ({}), attention.mode={}", models.dense().id(),
                models.dense().sha256().substring(0, 12), models.attention().id(),
                models.attention().sha256().substring(0, 12), config.attentionMode().cliName());
    }

    private static String advertisedHost() {
        final String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (final java.net.UnknownHostException e) {
            return "localhost";
        }
    }

    /** Creates topics when allowed, builds the topology and starts it. */
    public static SeqembedApp start(final SeqembedConfig config, final Models models) throws Exception {
        final SeqembedApp app = new SeqembedApp(config, models);
        app.streams.start();
        return app;
    }

    public KafkaStreams streams() {
        return streams;
    }

    public Telemetry telemetry() {
        return telemetry;
    }

    /** Waits until Kafka Streams is RUNNING. */
    public boolean awaitRunning(final Duration timeout) throws InterruptedException {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            final KafkaStreams.State s = streams.state();
            if (s == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** Blocks until the application has stopped or failed. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
        // Leave the group on an orderly stop: the partitions move at once instead of after the session timeout.
        streams.close(org.apache.kafka.streams.CloseOptions.timeout(Duration.ofSeconds(30))
                .withGroupMembershipOperation(org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
        streamsMetrics.close();
        registry.close();
        LOG.info("processor {} stopped", config.applicationId());
    }
}
