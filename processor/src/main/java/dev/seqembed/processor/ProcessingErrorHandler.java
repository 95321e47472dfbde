package dev.seqembed.processor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.engine.ErrorCode;
import dev.seqembed.metrics.Telemetry;

/**
 * Kafka Streams' processing exception handler for seqembed (SPEC §10.6): a record that fails after validation goes
 * to the dead-letter topic with reason {@link ErrorCode#PROCESSING_ERROR} and processing goes on, instead of the
 * stream thread failing and reprocessing the same record forever under exactly-once. The dead letters are sent in
 * the task's transaction, together with the state changes the failing processor made to close the sequence.
 *
 * <p>What a dead letter holds: the bytes of the record being processed as Kafka Streams read them from its source
 * topic, with that topic, partition and offset in the headers; or, for a {@link ProcessingFailure} that names its
 * records (a dense batch), those. On the attention path the source is the internal chunks topic, so the bytes are
 * the validated TokenChunk in the same single-object encoding a producer writes to {@code tokens}: it can be sent
 * there again as it is.
 *
 * <p>Kafka Streams' own exceptions (a failing store or producer) are not about one record: they fail the thread,
 * and {@code SeqembedApp} then stops the client with one log line.
 */
public final class ProcessingErrorHandler implements ProcessingExceptionHandler {

    /** Config key under which the application passes its {@link Telemetry} (an object, not a string). */
    public static final String TELEMETRY_CONFIG = "seqembed.telemetry";

    private static final Logger LOG = LoggerFactory.getLogger(ProcessingErrorHandler.class);

    private String topic;
    private Telemetry telemetry;

    /**
     * Sets seqembed's exception handlers on a Kafka Streams client's properties (where the user has not chosen
     * others): a record failing after validation goes to the DLQ as PROCESSING_ERROR instead of failing the thread,
     * an output record that cannot be produced is counted and dropped (SPEC §10.6).
     */
    public static void install(final Properties props, final Telemetry telemetry) {
        props.putIfAbsent(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, ProcessingErrorHandler.class.getName());
        props.putIfAbsent(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, OutputErrorHandler.class.getName());
        props.put(TELEMETRY_CONFIG, telemetry);
    }

    @Override
    public void configure(final Map<String, ?> configs) {
        final Object t = configs.get(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG);
        topic = t == null ? null : t.toString();
        telemetry = telemetryOf(configs);
    }

    /**
     * A dead letter's message for a record that failed in processor {@code node}: "node: what failed" (also what a
     * processor writes when it dead-letters a failed record itself, as the causal micro-batch does).
     */
    static String messageOf(final String node, final Throwable failure) {
        return node + ": " + ProcessingFailure.describe(failure);
    }

    /** The Telemetry {@link #install} put in a handler's configs, or null when there is none. */
    static Telemetry telemetryOf(final Map<String, ?> configs) {
        return configs.get(TELEMETRY_CONFIG) instanceof Telemetry t ? t : null;
    }

    @Override
    public Response handleError(final ErrorHandlerContext context, final Record<?, ?> record,
                                final Exception exception) {
        if (exception instanceof RuntimeException && ProcessingFailure.isKafkaStreamsOwn((RuntimeException) exception)) {
            return Response.fail();
        }
        final String message = messageOf(context.processorNodeId(), exception);
        final List<DeadLetter> letters = exception instanceof ProcessingFailure pf && !pf.deadLetters().isEmpty()
                ? pf.deadLetters()
                : List.of(new DeadLetter(context.sourceRawKey(), context.sourceRawValue(), ErrorCode.PROCESSING_ERROR,
                        message, context.topic(), context.partition(), context.offset()));
        // A punctuator (a micro-batch flushed by its wait bound) has no source record.
        final String source = context.topic() == null ? "punctuation"
                : context.topic() + "-" + context.partition() + "@" + context.offset();
        LOG.warn("processing error, {} record(s) to {} and going on: {} (task {}, {})", letters.size(), topic,
                message, context.taskId(), source);
        final List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(letters.size());
        for (final DeadLetter named : letters) {
            final DeadLetter dl = named.topic() != null ? named : new DeadLetter(named.key(), named.value(),
                    named.reason(), named.message(), context.topic(), named.partition(), named.offset());
            if (telemetry != null) {
                telemetry.deadLetter(dl.reason());
            }
            if (topic != null) {
                out.add(new ProducerRecord<>(topic, null, context.timestamp(), dl.key(), dl.value(),
                        DeadLetterHeaders.of(dl)));
            }
        }
        return Response.resume(out);
    }
}
