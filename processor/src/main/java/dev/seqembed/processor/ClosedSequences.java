package dev.seqembed.processor;

import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Marks, in a stateful processor's own store, that a sequence was closed by a processing error, so that its later
 * chunks are dead-lettered instead of being applied to state that no longer exists (a causal chunk would otherwise
 * restart at position 0, a window at index 0). The marker goes with the sequence's {@code last} chunk, or when the
 * validator aborts the sequence (idle eviction). (The causal path's cache store has its own key scheme and marker:
 * {@link dev.seqembed.state.KvCacheStore#markFailed}.)
 */
final class ClosedSequences {

    private static final String MARKER = "\u0000closed";

    private ClosedSequences() {
    }

    /** The marker's key: not a sequence id a producer would send (it holds a NUL). */
    static String markerKey(final String sequenceId) {
        return sequenceId + MARKER;
    }

    /** The sequence a key of the store is about: the key itself, or the sequence a marker key marks. */
    static String sequenceOf(final String key) {
        return key.endsWith(MARKER) ? key.substring(0, key.length() - MARKER.length()) : key;
    }

    /**
     * Frees the sequence's state without reading it (the stored value may be the corrupt one: a delete would
     * deserialize it) and, unless the failed chunk was its last, marks it closed.
     */
    static <V> void close(final KeyValueStore<String, V> store, final String sequenceId, final V marker,
                          final boolean last) {
        store.put(sequenceId, null);
        if (!last) {
            store.put(markerKey(sequenceId), marker);
        }
    }

    /** Whether the sequence was closed by an earlier processing error. */
    static boolean isClosed(final KeyValueStore<String, ?> store, final String sequenceId) {
        return store.get(markerKey(sequenceId)) != null;
    }

    /** The exception for a chunk of a closed sequence; on its last chunk the marker is removed. */
    static ProcessingFailure rejectLater(final KeyValueStore<String, ?> store, final String sequenceId,
                                         final boolean last) {
        if (last) {
            store.put(markerKey(sequenceId), null);
        }
        return closedEarlier(sequenceId);
    }

    /** The failure for a chunk of a sequence an earlier processing error closed (the causal path's marker too). */
    static ProcessingFailure closedEarlier(final String sequenceId) {
        return new ProcessingFailure("sequence '" + sequenceId + "' was closed by an earlier processing error", null);
    }
}
