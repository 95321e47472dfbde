package dev.seqembed.it;

import dev.seqembed.broker.EmbeddedKafkaBroker;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The in-JVM KRaft broker: transactions, restarts on a persistent directory, busy ports. */
final class EmbeddedKafkaBrokerIT {

    private static final String TOPIC = "it.broker";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void transactionalRoundTripIsReadCommitted() throws Exception {
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0, null)) {
            assertThat(broker.bootstrapServers()).startsWith("localhost:");
            final NewTopic topic = new NewTopic(TOPIC, 2, (short) 1);
            broker.createTopics(List.of(topic));
            broker.createTopics(List.of(topic)); // idempotent

            try (KafkaProducer<String, String> producer = transactionalProducer(broker.bootstrapServers())) {
                producer.initTransactions();
                producer.beginTransaction();
                for (int i = 0; i < 5; i++) {
                    producer.send(new ProducerRecord<>(TOPIC, "k" + i, "committed-" + i));
                }
                producer.commitTransaction();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(TOPIC, "k9", "aborted"));
                producer.flush();
                producer.abortTransaction();
            }

            final List<String> values = readAll(broker.bootstrapServers(), 5);
            assertThat(values).containsExactlyInAnyOrder(
                "committed-0", "committed-1", "committed-2", "committed-3", "committed-4");
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void keepsRecordsAcrossRestartsOnTheSameDataDir(@TempDir final Path tmp) throws Exception {
        final Path dataDir = tmp.resolve("broker");
        final int port;
        try (EmbeddedKafkaBroker first = EmbeddedKafkaBroker.start(0, dataDir)) {
            port = first.port();
            first.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1)));
            try (KafkaProducer<String, String> producer = transactionalProducer(first.bootstrapServers())) {
                producer.initTransactions();
                producer.beginTransaction();
                for (int i = 0; i < 3; i++) {
                    producer.send(new ProducerRecord<>(TOPIC, "k" + i, "before-restart-" + i));
                }
                producer.commitTransaction();
            }
        }
        assertThat(dataDir.resolve("meta.properties")).exists();

        // Same directory, same fixed port: what `seqembed broker` does on its second start.
        try (EmbeddedKafkaBroker second = EmbeddedKafkaBroker.start(port, dataDir)) {
            assertThat(second.bootstrapServers()).isEqualTo("localhost:" + port);
            second.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1))); // exists: fine
            final List<String> values = readAll(second.bootstrapServers(), 3);
            assertThat(values).containsExactlyInAnyOrder("before-restart-0", "before-restart-1", "before-restart-2");
        }
        assertThat(Files.exists(dataDir)).as("a persistent data dir is kept on close").isTrue();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void busyPortFailsFastWithBindException() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            assertThatThrownBy(() -> EmbeddedKafkaBroker.start(taken.getLocalPort(), null))
                .isInstanceOf(BindException.class)
                .hasMessageContaining("port " + taken.getLocalPort() + " is already in use");
        }
    }

    private static KafkaProducer<String, String> transactionalProducer(final String bootstrap) {
        return new KafkaProducer<>(Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-broker-tx",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
            ProducerConfig.ACKS_CONFIG, "all"),
            new StringSerializer(), new StringSerializer());
    }

    /** Reads from the beginning, read_committed, until {@code expected} records or 20 s; then 1 s more for extras. */
    private static List<String> readAll(final String bootstrap, final int expected) {
        final List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ConsumerConfig.GROUP_ID_CONFIG, "it-broker-" + System.nanoTime(),
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
            new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(TOPIC));
            final long deadline = System.currentTimeMillis() + 20_000;
            while (values.size() < expected && System.currentTimeMillis() < deadline) {
                for (final ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
            // A short extra poll: an aborted record leaking through would show up here.
            final long extra = System.currentTimeMillis() + 1_000;
            while (System.currentTimeMillis() < extra) {
                for (final ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }
}
