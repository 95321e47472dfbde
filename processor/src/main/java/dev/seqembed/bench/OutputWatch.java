package dev.seqembed.bench;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.seqembed.client.TokenProducer;
import dev.seqembed.config.SeqembedConfig;

/**
 * The two ends of a benchmark phase: a consumer thread (read_committed, partitions assigned directly, so no group
 * rebalance falls into the timed region) counting records per watched topic and handing each to an optional
 * {@link Observer}, and the producer that feeds the phase, at full speed or at a fixed token rate.
 */
final class OutputWatch implements AutoCloseable {

    /** A record to send: key (the sequence id), the encoded TokenChunk and the tokens it carries. */
    record Rec(String key, byte[] value, int tokens) {
    }

    /** Sees every record consumed, on the consumer thread. */
    interface Observer {
        void record(int topicIndex, ConsumerRecord<byte[], byte[]> record, long receivedAtMs);
    }

    /**
     * What a run measured.
     *
     * @param produceNanos first send to the producer's flush returning
     * @param topicNanos per watched topic, first send to the last record needed (0 if it timed out)
     */
    record Result(long produceNanos, long[] topicNanos) {
        boolean complete() {
            for (final long n : topicNanos) {
                if (n <= 0) {
                    return false;
                }
            }
            return true;
        }
    }

    private final SeqembedConfig config;
    private final List<String> topics;
    private final Observer observer;
    private final long[] counts;
    private final long[] lastArrival;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final CountDownLatch ready = new CountDownLatch(1);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Thread thread;

    OutputWatch(final SeqembedConfig config, final List<String> topics) throws InterruptedException {
        this(config, topics, null);
    }

    OutputWatch(final SeqembedConfig config, final List<String> topics, final Observer observer)
            throws InterruptedException {
        this.config = config;
        this.topics = topics;
        this.observer = observer;
        this.counts = new long[topics.size()];
        this.lastArrival = new long[topics.size()];
        this.thread = new Thread(this::consume, "bench-consumer");
        thread.setDaemon(true);
        thread.start();
        if (!ready.await(60, TimeUnit.SECONDS) || failure.get() != null) {
            throw new IllegalStateException("bench consumer did not start", failure.get());
        }
    }

    private void consume() {
        final Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.get("bootstrap.servers"));
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
        // Latency is measured here: do not let a fetch park for the default 500 ms.
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            final List<TopicPartition> partitions = new ArrayList<>();
            for (final String topic : topics) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
                for (int i = 0; i < 100 && (infos == null || infos.isEmpty()); i++) {
                    Thread.sleep(100);
                    infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
                }
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalStateException("topic " + topic + " has no partitions");
                }
                infos.forEach(i -> partitions.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            partitions.forEach(consumer::position);
            ready.countDown();
            while (running.get()) {
                final var batch = consumer.poll(Duration.ofMillis(50));
                if (batch.isEmpty()) {
                    continue;
                }
                final long now = System.nanoTime();
                final long nowMs = System.currentTimeMillis();
                synchronized (this) {
                    for (final ConsumerRecord<byte[], byte[]> r : batch) {
                        final int t = topics.indexOf(r.topic());
                        counts[t]++;
                        lastArrival[t] = now;
                        if (observer != null) {
                            observer.record(t, r, nowMs);
                        }
                    }
                }
            }
        } catch (final Throwable t) {
            failure.set(t);
            ready.countDown();
        }
    }

    /** Records seen so far per watched topic. */
    synchronized long[] counts() {
        return counts.clone();
    }

    /**
     * Sends the records to {@code topic} at full speed; waits until each watched topic has {@code expected} more
     * records.
     *
     * @return per watched topic, nanos from the first send to the last record needed (0 if it timed out)
     */
    long[] run(final String topic, final List<Rec> values, final List<Long> expected, final long timeoutMs)
            throws InterruptedException {
        return run(topic, values, expected, timeoutMs, 0, null).topicNanos();
    }

    /**
     * Sends the records to {@code topic}, at full speed ({@code tokensPerSecond <= 0}) or paced to that token rate,
     * and waits until each watched topic has {@code expected} more records; prints a progress line every few seconds
     * to {@code progress} (null: quiet).
     */
    Result run(final String topic, final List<Rec> values, final List<Long> expected, final long timeoutMs,
               final double tokensPerSecond, final PrintStream progress) throws InterruptedException {
        final long[] base = counts();
        final long[] targets = new long[topics.size()];
        for (int i = 0; i < targets.length; i++) {
            targets[i] = base[i] + expected.get(i);
        }
        final long totalTokens = values.stream().mapToLong(Rec::tokens).sum();
        final long[] sentTokens = new long[1];
        final long start = System.nanoTime();
        final Thread reporter = progress == null ? null : progressLine(progress, start, totalTokens, sentTokens,
                base, expected);
        final long produceNanos;
        final long t0;
        try (TokenProducer producer = new TokenProducer(config.streamsProperties(), topic)) {
            t0 = System.nanoTime();
            long tokens = 0;
            for (final Rec r : values) {
                if (tokensPerSecond > 0) {
                    final long due = t0 + (long) (tokens * 1e9 / tokensPerSecond);
                    for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                        LockSupport.parkNanos(wait);
                    }
                }
                producer.sendRaw(r.key(), r.value());
                tokens += r.tokens();
                synchronized (sentTokens) {
                    sentTokens[0] = tokens;
                }
            }
            producer.flush();
            produceNanos = System.nanoTime() - t0;
        }
        final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        final long[] result = new long[topics.size()];
        try {
            while (true) {
                boolean all = true;
                synchronized (this) {
                    for (int i = 0; i < targets.length; i++) {
                        if (counts[i] >= targets[i]) {
                            if (result[i] == 0) {
                                result[i] = Math.max(1, lastArrival[i] - t0);
                            }
                        } else {
                            all = false;
                        }
                    }
                }
                if (all || System.nanoTime() > deadline || failure.get() != null) {
                    break;
                }
                Thread.sleep(10);
            }
        } finally {
            if (reporter != null) {
                reporter.interrupt();
                reporter.join(1_000);
            }
        }
        if (failure.get() != null) {
            throw new IllegalStateException("bench consumer failed", failure.get());
        }
        return new Result(produceNanos, result);
    }

    /** A daemon thread printing "[12 s] sent 40% of 1,000,000 tokens; tokens.dense 9,000/120,000 ..." every 5 s. */
    private Thread progressLine(final PrintStream out, final long start, final long totalTokens, final long[] sent,
                                final long[] base, final List<Long> expected) {
        final Thread t = new Thread(() -> {
            try {
                while (true) {
                    Thread.sleep(5_000);
                    final long s;
                    synchronized (sent) {
                        s = sent[0];
                    }
                    final long[] now = counts();
                    final StringBuilder line = new StringBuilder(String.format("    [%3.0f s] sent %,d/%,d tokens",
                            (System.nanoTime() - start) / 1e9, s, totalTokens));
                    for (int i = 0; i < topics.size(); i++) {
                        line.append(String.format("; %s %,d/%,d", topics.get(i), now[i] - base[i], expected.get(i)));
                    }
                    out.println(line);
                }
            } catch (final InterruptedException done) {
                // The run is over.
            }
        }, "bench-progress");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(10_000);
    }
}
