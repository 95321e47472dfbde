package dev.seqembed.processor;

import dev.seqembed.engine.ErrorCode;

/**
 * A rejected input record: its original bytes, why it was rejected, and where it came from.
 *
 * @param key original key bytes (may be null)
 * @param value original value bytes (may be null)
 */
public record DeadLetter(byte[] key, byte[] value, ErrorCode reason, String message,
                         String topic, int partition, long offset) {

    public static final String HEADER_REASON = "seqembed.error.reason";
    public static final String HEADER_MESSAGE = "seqembed.error.message";
    public static final String HEADER_TOPIC = "seqembed.error.topic";
    public static final String HEADER_PARTITION = "seqembed.error.partition";
    public static final String HEADER_OFFSET = "seqembed.error.offset";
}
