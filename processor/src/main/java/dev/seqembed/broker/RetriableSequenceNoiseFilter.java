package dev.seqembed.broker;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Drops one broker log line that is not an error: with transactions v2 (KIP-890) the broker rejects a
 * non-zero first sequence from a producer it holds no state for, as a retriable error that the client
 * retries at once (KAFKA-18202). The in-JVM broker logs each such rejection at ERROR, which alarms readers of
 * the demo and test output for nothing. Every other broker error still shows.
 */
public final class RetriableSequenceNoiseFilter extends Filter<ILoggingEvent> {

    private static final String MARKER = "transactions v2 idempotent producer with no existing state";

    @Override
    public FilterReply decide(final ILoggingEvent event) {
        final IThrowableProxy t = event.getThrowableProxy();
        if (t != null && t.getClassName().endsWith("OutOfOrderSequenceException") && t.getMessage() != null
                && t.getMessage().contains(MARKER)) {
            return FilterReply.DENY;
        }
        return FilterReply.NEUTRAL;
    }
}
