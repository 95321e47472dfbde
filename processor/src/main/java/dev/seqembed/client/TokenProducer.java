package dev.seqembed.client;

import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.seqembed.avro.TokenChunk;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.RecordSerdes;

/**
 * Sends sequences to the tokens topic as TokenChunks keyed by sequence_id (idempotent, acks=all). Sends are
 * asynchronous; a chunk the broker never acknowledged is counted ({@link #failedChunks()}) so that no caller can
 * lose records silently.
 */
public final class TokenProducer implements AutoCloseable {

    private final KafkaProducer<String, byte[]> producer;
    private final String topic;
    private final AvroSerde<TokenChunk> serde = RecordSerdes.tokenChunk();
    private long chunksSent;
    private final AtomicLong failedChunks = new AtomicLong();
    private final AtomicReference<Exception> firstFailure = new AtomicReference<>();

    public TokenProducer(final Properties clientProps, final String topic) {
        final Properties p = new Properties();
        p.putAll(clientProps);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        this.producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        this.topic = topic;
    }

    /** Sends one sequence split into chunks of at most {@code chunk} tokens (&lt;= 0: one chunk). */
    public void send(final SequenceInput sequence, final int chunk) {
        for (final TokenChunk c : sequence.toChunks(chunk)) {
            sendRaw(sequence.sequenceId(), serde.encode(c));
        }
    }

    /** Sends raw bytes (the demo uses it to show what happens to bad records). */
    public void sendRaw(final String key, final byte[] value) {
        producer.send(new ProducerRecord<>(topic, key, value), (metadata, e) -> {
            if (e != null) {
                failedChunks.incrementAndGet();
                firstFailure.compareAndSet(null, e);
            }
        });
        chunksSent++;
    }

    public long chunksSent() {
        return chunksSent;
    }

    /** Chunks whose send failed (known once their callback ran, at the latest after {@link #flush()}). */
    public long failedChunks() {
        return failedChunks.get();
    }

    /** The first send failure, or null. */
    public Exception firstFailure() {
        return firstFailure.get();
    }

    public void flush() {
        producer.flush();
    }

    @Override
    public void close() {
        producer.close();
    }
}
