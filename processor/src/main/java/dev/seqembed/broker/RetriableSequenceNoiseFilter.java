package dev.seqembed.broker;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Drops the in-JVM broker's ERROR lines for rejected producer sequence numbers. With transactions v2
 * (KIP-890) the broker rejects a non-zero first sequence from a producer it holds no state for, and then the
 * batches in flight behind it, as a retriable error that the client retries at once (KAFKA-18202); the
 * broker's ReplicaManager logs every rejection at ERROR, which alarms readers of the demo and test output for
 * nothing. A rejection that does not resolve surfaces on the client side, in the stream processor's own
 * log, so nothing is hidden from the application. Every other broker error still shows.
 */
public final class RetriableSequenceNoiseFilter extends Filter<ILoggingEvent> {

    private static final String BROKER_LOGGER = "kafka.server.ReplicaManager";

    @Override
    public FilterReply decide(final ILoggingEvent event) {
        final IThrowableProxy t = event.getThrowableProxy();
        if (t != null && BROKER_LOGGER.equals(event.getLoggerName())
                && t.getClassName().endsWith("OutOfOrderSequenceException")) {
            return FilterReply.DENY;
        }
        return FilterReply.NEUTRAL;
    }
}
