package dev.seqembed.processor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.apache.kafka.streams.processor.api.RecordMetadata;

import dev.seqembed.state.PendingChunk;
import dev.seqembed.state.StateEntries;

/**
 * The causal micro-batch's waiting chunks: a changelogged store keyed by arrival number (big-endian, so the store's
 * byte order is arrival order) followed by the sequence id, and the counts that say when to flush. Chunks come out
 * in arrival order, so each sequence's in its own order.
 */
final class WaitingChunks {

    /** A waiting chunk: its sequence and its record. */
    record Waiting(String sequenceId, PendingChunk chunk) {
    }

    private final StateEntries<byte[], PendingChunk> store;
    private long next;
    /** Arrival number of the oldest waiting chunk: a flush seeks here, past the tombstones of earlier batches. */
    private long first;
    private int count;
    private int tokens;
    private long oldestAtMs;

    /**
     * Reads what a restart left in the store: numbering goes on after it. An entry that cannot be decoded is a lost
     * chunk of a known sequence (its id is in the key): {@code unreadable} dead-letters it later, and frees it by
     * calling {@code closeSequence}.
     */
    WaitingChunks(final StateEntries<byte[], PendingChunk> store, final UnreadableEntries unreadable,
                  final Consumer<String> closeSequence, final long nowMs) {
        this.store = store;
        unreadable.read(store, (k, p) -> {
            final long n = arrival(k);
            first = count == 0 ? n : Math.min(first, n);
            next = Math.max(next, n + 1);
            count++;
            tokens += Math.max(1, p.tokens());
        }, k -> {
            store.remove(k);
            closeSequence.accept(sequenceOf(k));
        });
        if (count == 0) {
            first = next;
        }
        oldestAtMs = nowMs;
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** Tokens waiting (an empty chunk counts as one). */
    int tokens() {
        return tokens;
    }

    /** Whether the oldest waiting chunk has waited {@code maxWaitMs}. */
    boolean due(final long nowMs, final long maxWaitMs) {
        return count > 0 && nowMs - oldestAtMs >= maxWaitMs;
    }

    /** Stores a chunk record's value bytes with its timestamp and source (null when unknown). */
    void add(final String sequenceId, final byte[] value, final int chunkTokens, final long timestampMs,
             final RecordMetadata from, final long nowMs) {
        if (count == 0) {
            oldestAtMs = nowMs;
        }
        store.put(key(next++, sequenceId), new PendingChunk(value, chunkTokens, timestampMs,
                from == null ? null : from.topic(), from == null ? -1 : from.partition(),
                from == null ? -1 : from.offset()));
        count++;
        tokens += Math.max(1, chunkTokens);
    }

    /** Every waiting chunk in arrival order, removed from the store (in the same transaction as what they produce). */
    List<Waiting> takeAll() {
        final List<Waiting> all = new ArrayList<>(count);
        // A range from the oldest live key, not all(): a scan from the start would step over old tombstones.
        store.range(key(first, ""), key(next, "")).forEach(kv -> {
            all.add(new Waiting(sequenceOf(kv.key), kv.value));
            store.remove(kv.key);
        });
        count = 0;
        tokens = 0;
        first = next;
        return all;
    }

    private static byte[] key(final long arrival, final String sequenceId) {
        final byte[] id = sequenceId.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(Long.BYTES + id.length).putLong(arrival).put(id).array();
    }

    private static long arrival(final byte[] key) {
        return ByteBuffer.wrap(key).getLong();
    }

    private static String sequenceOf(final byte[] key) {
        return new String(key, Long.BYTES, key.length - Long.BYTES, StandardCharsets.UTF_8);
    }
}
