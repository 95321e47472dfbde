package dev.seqembed.processor;

import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Record;

import dev.seqembed.avro.TokenChunk;

/**
 * Hands validated chunks to the attention path through its own topic, so that attention runs in a
 * sub-topology of its own: a long forward pass then never delays the windows of the dense path. A null
 * value tells the attention processor to drop the sequence's state (rejected part-way, or evicted).
 */
public final class AttentionFeed extends ContextualProcessor<String, SequenceEvent, String, TokenChunk> {

    @Override
    public void process(final Record<String, SequenceEvent> record) {
        final SequenceEvent event = record.value();
        if (event.kind() == SequenceEvent.Kind.CHUNK) {
            context().forward(record.withKey(event.sequenceId()).withValue(event.chunk()));
        } else if (event.kind() == SequenceEvent.Kind.ABORT) {
            context().forward(record.withKey(event.sequenceId()).withValue((TokenChunk) null));
        }
    }
}
