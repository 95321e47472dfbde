package dev.seqembed.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.seqembed.avro.Embedding;
import dev.seqembed.serde.RecordSerdes;

/** Reads committed records of a topic from the beginning, as a downstream user would. */
final class EmbeddingReader {

    private EmbeddingReader() {
    }

    /** Reads until {@code count} records arrived (or fails after the timeout), then a short grace for extras. */
    static List<ConsumerRecord<byte[], byte[]>> read(final String bootstrap, final String topic, final int count,
                                                     final Duration timeout) {
        final List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "it-" + UUID.randomUUID(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            final long deadline = System.nanoTime() + timeout.toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            // Anything beyond the expected count would be a duplicate: give it a chance to show up.
            final long grace = System.nanoTime() + Duration.ofSeconds(1).toNanos();
            while (System.nanoTime() < grace) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    static List<Embedding> embeddings(final String bootstrap, final String topic, final int count,
                                      final Duration timeout) {
        final List<Embedding> out = new ArrayList<>();
        for (final ConsumerRecord<byte[], byte[]> r : read(bootstrap, topic, count, timeout)) {
            try {
                out.add(RecordSerdes.embedding().decode(r.value()));
            } catch (final IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }
}
