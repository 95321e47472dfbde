package dev.seqembed.processor;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Record;

import dev.seqembed.metrics.Telemetry;

/**
 * Turns {@link SequenceEvent.Kind#REJECT} events into dead letters: the original bytes, unchanged, plus reason
 * headers. Other events pass it by.
 */
public final class DeadLetterWriter extends ContextualProcessor<String, SequenceEvent, byte[], byte[]> {

    private final Telemetry telemetry;

    public DeadLetterWriter(final Telemetry telemetry) {
        this.telemetry = telemetry;
    }

    @Override
    public void process(final Record<String, SequenceEvent> record) {
        if (record.value().kind() != SequenceEvent.Kind.REJECT) {
            return;
        }
        final DeadLetter dl = record.value().deadLetter();
        final RecordHeaders headers = new RecordHeaders();
        headers.add(DeadLetter.HEADER_REASON, bytes(dl.reason().name()));
        headers.add(DeadLetter.HEADER_MESSAGE, bytes(dl.message()));
        headers.add(DeadLetter.HEADER_TOPIC, bytes(dl.topic()));
        headers.add(DeadLetter.HEADER_PARTITION, bytes(String.valueOf(dl.partition())));
        headers.add(DeadLetter.HEADER_OFFSET, bytes(String.valueOf(dl.offset())));
        telemetry.deadLetter(dl.reason());
        context().forward(new Record<>(dl.key(), dl.value(), record.timestamp(), headers));
    }

    private static byte[] bytes(final String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}
