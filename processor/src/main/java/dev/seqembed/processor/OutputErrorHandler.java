package dev.seqembed.processor;

import java.util.Map;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.metrics.Telemetry;

/**
 * Kafka Streams' production exception handler for seqembed: an output record that cannot be produced because of
 * itself (it does not serialize, or it is larger than {@code max.request.size}) is dropped, counted
 * ({@code seqembed_output_dropped_total{topic,reason}}) and logged, and the processor goes on.
 *
 * <p>Why this keeps exactly-once sound: such a record is refused by the producer before it joins the transaction,
 * so the transaction commits everything else. Changelog records are never dropped (the store and its changelog
 * would disagree after a restore): a state record that cannot be written fails the client. So do all other
 * errors; retriable ones are retried (Kafka Streams' default).
 */
public final class OutputErrorHandler implements ProductionExceptionHandler {

    private static final Logger LOG = LoggerFactory.getLogger(OutputErrorHandler.class);

    private Telemetry telemetry;

    @Override
    public void configure(final Map<String, ?> configs) {
        telemetry = ProcessingErrorHandler.telemetryOf(configs);
    }

    @Override
    public Response handleError(final ErrorHandlerContext context, final ProducerRecord<byte[], byte[]> record,
                                final Exception exception) {
        if (exception instanceof RetriableException) {
            return Response.retry();
        }
        if ((exception instanceof RecordTooLargeException || exception instanceof RecordBatchTooLargeException)
                && !isChangelog(record.topic())) {
            return drop(record.topic(), "too_large", size(record) + " bytes", exception);
        }
        return Response.fail();
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Response handleSerializationError(final ErrorHandlerContext context, final ProducerRecord record,
                                             final Exception exception, final SerializationExceptionOrigin origin) {
        if (isChangelog(record.topic())) {
            return Response.fail();
        }
        return drop(record.topic(), "serialization", "the " + origin.name().toLowerCase(java.util.Locale.ROOT)
                + " did not serialize", exception);
    }

    private Response drop(final String topic, final String reason, final String what, final Exception exception) {
        if (telemetry != null) {
            telemetry.outputDropped(topic, reason);
        }
        LOG.warn("output record to {} dropped ({}): {}; counted in seqembed_output_dropped_total", topic, what,
                ProcessingFailure.describe(exception));
        return Response.resume();
    }

    private static boolean isChangelog(final String topic) {
        return topic != null && topic.endsWith("-changelog");
    }

    private static int size(final ProducerRecord<byte[], byte[]> r) {
        return (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
    }
}
