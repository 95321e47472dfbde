package dev.seqembed.processor;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/** The headers of a dead-letter record: reason, message and where the record came from. */
public final class DeadLetterHeaders {

    private DeadLetterHeaders() {
    }

    /** Headers naming the dead letter's reason, message, topic, partition and offset. */
    public static Headers of(final DeadLetter dl) {
        final RecordHeaders headers = new RecordHeaders();
        headers.add(DeadLetter.HEADER_REASON, bytes(dl.reason().name()));
        headers.add(DeadLetter.HEADER_MESSAGE, bytes(dl.message()));
        headers.add(DeadLetter.HEADER_TOPIC, bytes(dl.topic()));
        headers.add(DeadLetter.HEADER_PARTITION, bytes(String.valueOf(dl.partition())));
        headers.add(DeadLetter.HEADER_OFFSET, bytes(String.valueOf(dl.offset())));
        return headers;
    }

    private static byte[] bytes(final String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}
