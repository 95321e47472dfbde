package dev.seqembed.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.seqembed.avro.Embedding;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.EmbeddingJson;
import dev.seqembed.serde.RecordSerdes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code consume}: prints a topic's Embeddings as JSONL (the {@code embed} output form), read_committed. Records
 * that are not Embeddings (e.g. on {@code tokens.dlq}) are printed with their headers instead.
 */
@Command(name = "consume", mixinStandardHelpOptions = true, description = "Print Embeddings of a topic as JSON lines.")
public final class ConsumeCommand implements Callable<Integer> {

    /** A consumer started together with a fresh {@code run} waits this long for the topics to be created. */
    private static final long TOPIC_WAIT_MS = 20_000;

    @Mixin
    ConfigOptions options;

    @Option(names = "--topic", required = true, paramLabel = "T", description = "e.g. embeddings.dense, embeddings.attention, tokens.dlq.")
    String topic;

    @Option(names = "--from-beginning", description = "Start at the earliest offset (default: only new records).")
    boolean fromBeginning;

    @Option(names = "--max", paramLabel = "N", description = "Stop after N records.")
    Long max;

    @Option(names = "--timeout-ms", paramLabel = "M", defaultValue = "10000",
            description = "Stop after M ms without a record (default 10000; 0 = never).")
    long timeoutMs;

    @Override
    public Integer call() throws Exception {
        final SeqembedConfig config = options.resolve(Map.of());
        final Properties p = new Properties();
        p.putAll(config.streamsProperties());
        p.remove("application.id");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "seqembed-consume-" + UUID.randomUUID());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        ClusterCheck.requireTopic(p, topic, Duration.ofMillis(TOPIC_WAIT_MS), "");
        final AvroSerde<Embedding> serde = RecordSerdes.embedding();
        long printed = 0;
        long idleSince = System.currentTimeMillis();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            while (max == null || printed < max) {
                final var records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    if (timeoutMs > 0 && System.currentTimeMillis() - idleSince > timeoutMs) {
                        break;
                    }
                    continue;
                }
                idleSince = System.currentTimeMillis();
                for (final ConsumerRecord<byte[], byte[]> r : records) {
                    System.out.println(format(r, serde));
                    if (max != null && ++printed >= max) {
                        break;
                    }
                }
                System.out.flush();
            }
        }
        return 0;
    }

    private static String format(final ConsumerRecord<byte[], byte[]> r, final AvroSerde<Embedding> serde) {
        try {
            return EmbeddingJson.write(serde.decode(r.value()));
        } catch (final IOException notAnEmbedding) {
            final ObjectMapper json = new ObjectMapper();
            final ObjectNode node = json.createObjectNode();
            node.put("topic", r.topic()).put("partition", r.partition()).put("offset", r.offset());
            node.put("key", r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8));
            final ObjectNode headers = node.putObject("headers");
            for (final Header h : r.headers()) {
                headers.put(h.key(), h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8));
            }
            node.put("value_bytes", r.value() == null ? 0 : r.value().length);
            return node.toString();
        }
    }
}
