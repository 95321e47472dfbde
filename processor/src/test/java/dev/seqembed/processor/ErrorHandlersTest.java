package dev.seqembed.processor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

import dev.seqembed.engine.ErrorCode;
import dev.seqembed.metrics.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The two exception handlers seqembed configures by default, on their own. */
class ErrorHandlersTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final Map<String, Object> configs = Map.of(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG,
            "tokens.dlq", ProcessingErrorHandler.TELEMETRY_CONFIG, new Telemetry(registry));

    private static ErrorHandlerContext context(final String topic, final byte[] key, final byte[] value) {
        return new ErrorHandlerContext() {
            @Override
            public String topic() {
                return topic;
            }

            @Override
            public int partition() {
                return 3;
            }

            @Override
            public long offset() {
                return 42;
            }

            @Override
            public Headers headers() {
                return new RecordHeaders();
            }

            @Override
            public String processorNodeId() {
                return "attention";
            }

            @Override
            public TaskId taskId() {
                return new TaskId(0, 3);
            }

            @Override
            public long timestamp() {
                return 777;
            }

            @Override
            public byte[] sourceRawKey() {
                return key;
            }

            @Override
            public byte[] sourceRawValue() {
                return value;
            }
        };
    }

    private static String header(final ProducerRecord<byte[], byte[]> r, final String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    @Test
    void aFailedRecordGoesToTheDeadLetterTopicWithItsOriginalBytes() {
        final ProcessingErrorHandler h = new ProcessingErrorHandler();
        h.configure(configs);
        final byte[] key = "s1".getBytes(StandardCharsets.UTF_8);
        final byte[] value = {0, 1, 2, 3};
        final ProcessingExceptionHandler.Response r = h.handleError(context("app-attention-chunks", key, value),
                new Record<>("s1", "decoded", 777L), new ProcessingFailure("sequence 's1' chunk 1 (causal attention): "
                        + "IllegalArgumentException: not a KV cache header of version 1", null));
        assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
        assertThat(r.deadLetterQueueRecords()).hasSize(1);
        final ProducerRecord<byte[], byte[]> dl = r.deadLetterQueueRecords().get(0);
        assertThat(dl.topic()).isEqualTo("tokens.dlq");
        assertThat(dl.key()).isEqualTo(key);
        assertThat(dl.value()).isEqualTo(value);
        assertThat(dl.timestamp()).isEqualTo(777L);
        assertThat(header(dl, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        assertThat(header(dl, DeadLetter.HEADER_MESSAGE)).startsWith("attention: sequence 's1'")
                .contains("not a KV cache header of version");
        assertThat(header(dl, DeadLetter.HEADER_TOPIC)).isEqualTo("app-attention-chunks");
        assertThat(header(dl, DeadLetter.HEADER_PARTITION)).isEqualTo("3");
        assertThat(header(dl, DeadLetter.HEADER_OFFSET)).isEqualTo("42");
        assertThat(registry.counter("seqembed.dlq", "reason", "PROCESSING_ERROR").count()).isEqualTo(1.0);
    }

    @Test
    void aFailureNamingItsRecordsDeadLettersThose() {
        final ProcessingErrorHandler h = new ProcessingErrorHandler();
        h.configure(configs);
        final List<DeadLetter> letters = List.of(
                new DeadLetter(new byte[] {1}, new byte[] {2}, ErrorCode.PROCESSING_ERROR, "w0", null, -1, -1),
                new DeadLetter(new byte[] {3}, new byte[] {4}, ErrorCode.PROCESSING_ERROR, "w1", null, -1, -1));
        final ProcessingExceptionHandler.Response r = h.handleError(context("windows", new byte[] {9}, new byte[] {9}),
                null, new ProcessingFailure("dense batch of 2 window(s)", null, letters));
        assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
        assertThat(r.deadLetterQueueRecords()).extracting(ProducerRecord::value)
                .containsExactly(new byte[] {2}, new byte[] {4});
        assertThat(header(r.deadLetterQueueRecords().get(1), DeadLetter.HEADER_MESSAGE)).isEqualTo("w1");
        assertThat(header(r.deadLetterQueueRecords().get(1), DeadLetter.HEADER_TOPIC)).isEqualTo("windows");
        assertThat(registry.counter("seqembed.dlq", "reason", "PROCESSING_ERROR").count()).isEqualTo(2.0);
    }

    @Test
    void kafkaStreamsOwnFailuresAreNotDeadLettered() {
        final ProcessingErrorHandler h = new ProcessingErrorHandler();
        h.configure(configs);
        final ProcessingExceptionHandler.Response r = h.handleError(context("tokens", null, null), null,
                new ProcessorStateException("disk gone"));
        assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.FAIL);
        assertThat(r.deadLetterQueueRecords()).isEmpty();
    }

    @Test
    void anOutputRecordTooLargeIsCountedAndDropped() {
        final OutputErrorHandler h = new OutputErrorHandler();
        h.configure(configs);
        final ProducerRecord<byte[], byte[]> big = new ProducerRecord<>("embeddings.attention", new byte[10],
                new byte[2_000_000]);
        assertThat(h.handleError(context("x", null, null), big, new RecordTooLargeException("too large")).result())
                .isEqualTo(ProductionExceptionHandler.Result.RESUME);
        assertThat(registry.counter("seqembed.output.dropped", "topic", "embeddings.attention", "reason", "too_large")
                .count()).isEqualTo(1.0);
        assertThat(h.handleSerializationError(context("x", null, null), big, new SerializationException("bad"),
                ProductionExceptionHandler.SerializationExceptionOrigin.VALUE).result())
                .isEqualTo(ProductionExceptionHandler.Result.RESUME);
        assertThat(registry.counter("seqembed.output.dropped", "topic", "embeddings.attention", "reason",
                "serialization").count()).isEqualTo(1.0);
    }

    @Test
    void stateRecordsAreNeverDroppedAndRetriableErrorsRetry() {
        final OutputErrorHandler h = new OutputErrorHandler();
        h.configure(configs);
        final ProducerRecord<byte[], byte[]> state = new ProducerRecord<>("app-attention-kv-cache-changelog",
                new byte[1], new byte[1]);
        assertThat(h.handleError(context("x", null, null), state, new RecordTooLargeException("too large")).result())
                .isEqualTo(ProductionExceptionHandler.Result.FAIL);
        assertThat(h.handleError(context("x", null, null), state, new TimeoutException("slow")).result())
                .isEqualTo(ProductionExceptionHandler.Result.RETRY);
        assertThat(registry.find("seqembed.output.dropped").counters()).isEmpty();
    }
}
