package dev.seqembed.processor;

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
        telemetry.deadLetter(dl.reason());
        context().forward(new Record<>(dl.key(), dl.value(), record.timestamp(), DeadLetterHeaders.of(dl)));
    }
}
