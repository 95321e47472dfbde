package dev.seqembed.runtime;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line per restored store partition (a lifecycle event: after a crash, a wiped state dir or a task moving
 * to another instance): how many changelog records, how long. This is the figure {@code num.standby.replicas}
 * shortens: a standby keeps the copy warm, so a fail-over restores only the tail.
 */
final class RestoreLog implements StateRestoreListener {

    private static final Logger LOG = LoggerFactory.getLogger(RestoreLog.class);

    private final String client;
    private final Map<TopicPartition, Long> started = new ConcurrentHashMap<>();

    /** @param client "ingest" or "attention", for the log line */
    RestoreLog(final String client) {
        this.client = client;
    }

    @Override
    public void onRestoreStart(final TopicPartition partition, final String store, final long startingOffset,
                               final long endingOffset) {
        started.put(partition, System.nanoTime());
    }

    @Override
    public void onBatchRestored(final TopicPartition partition, final String store, final long batchEndOffset,
                                final long numRestored) {
        // Per batch would be per-record noise at INFO; the end line has the totals.
    }

    @Override
    public void onRestoreEnd(final TopicPartition partition, final String store, final long totalRestored) {
        final Long t0 = started.remove(partition);
        final long ms = t0 == null ? -1 : (System.nanoTime() - t0) / 1_000_000;
        LOG.info("{} restored {} records of {} (partition {}) in {} ms", client, totalRestored, store,
                partition.partition(), ms);
    }
}
