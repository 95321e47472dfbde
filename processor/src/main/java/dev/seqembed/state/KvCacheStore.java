package dev.seqembed.state;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import dev.seqembed.model.KvCache;

/**
 * How causal sequences' K/V caches are laid out in their key-value store, and the prefix scans that read them.
 *
 * <p>A cache is stored in blocks of a fixed number of tokens plus a small header (length and pooling state), all
 * keyed by the sequence id: {@code id NUL "h"} for the header, {@code id NUL "b" from} for the block starting at
 * token {@code from} (zero-padded to ten digits so that the store's byte order is the token order). A chunk
 * rewrites only the header, the last partial block and its own new blocks, so the changelog grows linearly with
 * the sequence, and no record approaches the producer's size limit however long the sequence is. The NUL
 * separator keeps one id's keys apart from those of an id it is a prefix of. {@code id NUL "x"} marks a
 * sequence closed because its cache's model is no longer loaded (SPEC §10.5), holding that model's SHA-256;
 * {@code id NUL "e"} one closed by a processing error (SPEC §10.6).
 */
public final class KvCacheStore {

    private static final String SEP = "\u0000";
    private static final StringSerializer KEYS = new StringSerializer();
    private static final byte[] FAILED = {1};

    private KvCacheStore() {
    }

    /** The sequence's cache from a store, or null when it holds none. */
    public static KvCache load(final ReadOnlyKeyValueStore<String, byte[]> store, final String id) {
        final byte[] header = store.get(headerKey(id));
        if (header == null) {
            return null;
        }
        final List<byte[]> blocks = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(id + SEP + "b", KEYS)) {
            while (it.hasNext()) {
                final KeyValue<String, byte[]> kv = it.next();
                blocks.add(kv.value);
            }
        }
        return KvCache.fromParts(header, blocks);
    }

    /** Writes the header and the blocks of {@code blockTokens} tokens that changed since {@code before} tokens. */
    public static void save(final KeyValueStore<String, byte[]> store, final String id, final KvCache cache,
                            final int before, final int blockTokens) {
        for (int from = before / blockTokens * blockTokens; from < cache.length(); from += blockTokens) {
            store.put(blockKey(id, from), cache.blockBytes(from, Math.min(cache.length(), from + blockTokens)));
        }
        store.put(headerKey(id), cache.headerBytes());
    }

    /** Deletes the sequence's header, blocks and closed markers. */
    public static void delete(final KeyValueStore<String, byte[]> store, final String id) {
        final List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(id + SEP, KEYS)) {
            it.forEachRemaining(kv -> keys.add(kv.key));
        }
        keys.forEach(store::delete);
    }

    /** The model SHA-256 a sequence was closed on ({@link #markClosed}), or null when it is not closed. */
    public static String closedOn(final ReadOnlyKeyValueStore<String, byte[]> store, final String id) {
        final byte[] v = store.get(closedKey(id));
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    /**
     * Keeps a sequence closed until its last chunk: without the marker, its next chunk would start a new cache
     * at position 0.
     */
    public static void markClosed(final KeyValueStore<String, byte[]> store, final String id, final String sha256) {
        store.put(closedKey(id), sha256.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Keeps a sequence closed by a processing error (a corrupt entry, a model error) until its last chunk: its
     * cache is gone, and its next chunk would otherwise start a new one at position 0.
     */
    public static void markFailed(final KeyValueStore<String, byte[]> store, final String id) {
        store.put(failedKey(id), FAILED);
    }

    /** Whether a processing error closed the sequence ({@link #markFailed}). */
    public static boolean failed(final ReadOnlyKeyValueStore<String, byte[]> store, final String id) {
        return store.get(failedKey(id)) != null;
    }

    /**
     * The model (SHA-256) of every sequence with a cache in the store, one seek per sequence: a scan of all
     * keys would read every K/V block.
     */
    public static Map<String, String> modelsInStore(final ReadOnlyKeyValueStore<String, byte[]> store) {
        final Map<String, String> out = new HashMap<>();
        String from = "";
        while (true) {
            final String key;
            try (KeyValueIterator<String, byte[]> it = store.range(from, null)) {
                if (!it.hasNext()) {
                    return out;
                }
                key = it.next().key;
            }
            final int sep = key.indexOf(SEP);
            final String id = sep < 0 ? key : key.substring(0, sep);
            final byte[] header = store.get(headerKey(id));
            if (header != null) {
                final String sha = KvCache.headerModelSha256(header);
                if (sha != null) {
                    out.put(id, sha);
                }
            }
            // Every key of this sequence starts with id + SEP (char 0): id + char 1 sorts after all of them.
            from = id + "\u0001";
        }
    }

    /** Bytes the sequence occupies in a store (keys and values of its header and blocks). */
    public static long storedBytes(final ReadOnlyKeyValueStore<String, byte[]> store, final String id) {
        long bytes = 0;
        try (KeyValueIterator<String, byte[]> it = store.prefixScan(id + SEP, KEYS)) {
            while (it.hasNext()) {
                final KeyValue<String, byte[]> kv = it.next();
                bytes += kv.key.length() + kv.value.length;
            }
        }
        return bytes;
    }

    /** Tokens per stored block so that one block holds about {@code targetBytes} of keys and values. */
    public static int blockTokens(final int layers, final int hidden, final long targetBytes) {
        return (int) Math.max(1, Math.min(1 << 20, targetBytes / (2L * layers * hidden * Float.BYTES)));
    }

    private static String closedKey(final String id) {
        return id + SEP + "x";
    }

    private static String failedKey(final String id) {
        return id + SEP + "e";
    }

    private static String headerKey(final String id) {
        return id + SEP + "h";
    }

    private static String blockKey(final String id, final int from) {
        return id + SEP + "b" + String.format("%010d", from);
    }
}
