package dev.seqembed.it;

import dev.seqembed.broker.EmbeddedKafkaBroker;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A real Kafka broker for integration tests, started once per test class.
 *
 * <p>With a Docker engine it runs {@code apache/kafka} through Testcontainers; without one it runs
 * the in-JVM {@link EmbeddedKafkaBroker}. Both are single-node KRaft brokers with the same settings
 * (replication factor 1 for internal topics, no initial rebalance delay, no auto topic creation).
 * The system property {@code seqembed.it.broker=embedded|docker} forces one of them.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();
 * ...
 * KAFKA.createTopics("tokens", "windows");
 * props.put("bootstrap.servers", KAFKA.bootstrapServers());
 * }</pre>
 */
public final class KafkaBrokerSupport implements BeforeAllCallback, AfterAllCallback {

    /** The image used when Docker is available. */
    public static final String KAFKA_IMAGE = "apache/kafka:4.1.0";
    /** Partitions of topics made by {@link #createTopics(String...)}. */
    public static final int PARTITIONS = 2;

    private static final Logger LOG = LoggerFactory.getLogger(KafkaBrokerSupport.class);

    private KafkaContainer container;
    private EmbeddedKafkaBroker embedded;
    private String bootstrapServers;
    private Class<?> owner;

    @Override
    public void beforeAll(final ExtensionContext context) throws Exception {
        if (bootstrapServers != null) {
            return; // Already started (e.g. a @Nested class sharing the outer field).
        }
        owner = context.getRequiredTestClass();
        final long start = System.nanoTime();
        if (useDocker()) {
            container = new KafkaContainer(KAFKA_IMAGE)
                .withEnv("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
                .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
                .withEnv("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1");
            container.start();
            bootstrapServers = container.getBootstrapServers();
        } else {
            embedded = EmbeddedKafkaBroker.start(0, null);
            bootstrapServers = embedded.bootstrapServers();
        }
        LOG.info("Test broker ({}) at {} in {} ms", kind(), bootstrapServers,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }

    @Override
    public void afterAll(final ExtensionContext context) {
        if (context.getRequiredTestClass() != owner) {
            return; // A @Nested class ends: the class that started the broker still needs it.
        }
        if (embedded != null) {
            embedded.close();
            embedded = null;
        }
        if (container != null) {
            container.stop();
            container = null;
        }
        bootstrapServers = null;
    }

    /** {@return the bootstrap servers of the running broker} */
    public String bootstrapServers() {
        if (bootstrapServers == null) {
            throw new IllegalStateException("broker not started: register KafkaBrokerSupport as a static extension");
        }
        return bootstrapServers;
    }

    /** {@return "docker" or "embedded", whichever is running} */
    public String kind() {
        return container != null ? "docker" : "embedded";
    }

    /**
     * Creates topics with {@value #PARTITIONS} partitions and replication factor 1; existing
     * topics are left as they are.
     *
     * @param names topic names
     * @throws Exception if a topic cannot be created
     */
    public void createTopics(final String... names) throws Exception {
        final List<NewTopic> topics = Arrays.stream(names)
            .map(name -> new NewTopic(name, PARTITIONS, (short) 1))
            .toList();
        if (embedded != null) {
            embedded.createTopics(topics);
            return;
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            for (final var entry : admin.createTopics(topics).values().entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            admin.describeTopics(Arrays.asList(names)).allTopicNames().get(30, TimeUnit.SECONDS);
        }
    }

    private static boolean useDocker() {
        final String forced = System.getProperty("seqembed.it.broker", "").trim();
        if (forced.equalsIgnoreCase("embedded")) {
            return false;
        }
        if (forced.equalsIgnoreCase("docker")) {
            return true;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }
}
