package dev.seqembed.processor;

import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
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

    /**
     * Hands a dead letter from a processor to its child {@code child}, a DeadLetterWriter: the processor's own output
     * type (Embeddings) is not this writer's input type.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static void forward(final ProcessorContext<?, ?> context, final String child, final String key,
                        final DeadLetter deadLetter, final long timestamp) {
        ((ProcessorContext) context).forward(new Record<>(key, SequenceEvent.reject(deadLetter), timestamp), child);
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
