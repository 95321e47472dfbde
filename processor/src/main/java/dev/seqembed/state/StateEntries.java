package dev.seqembed.state;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * A changelogged store whose values are kept as bytes and read through their {@link StateSerde}. The store itself
 * never decodes, so an entry whose bytes cannot be decoded (a corrupt changelog record, restored) fails only a read
 * of that entry, and a read of the whole store ({@link #forEach}, a processor's {@code init}) hands over the
 * readable entries and returns the others with their raw bytes, instead of failing midway and failing the task.
 *
 * @param <K> the store's key type
 * @param <V> the state value type
 */
public final class StateEntries<K, V> {

    private final KeyValueStore<K, byte[]> store;
    private final StateSerde<V> serde;

    /**
     * An entry whose bytes could not be decoded.
     *
     * @param key its key in the store
     * @param value its raw bytes
     * @param error what decoding them threw
     */
    public record Unreadable<K>(K key, byte[] value, RuntimeException error) {
    }

    public StateEntries(final KeyValueStore<K, byte[]> store, final StateSerde<V> serde) {
        this.store = store;
        this.serde = serde;
    }

    /** A persistent store of this kind: keys by {@code keys}, values as bytes (its changelog holds the same bytes). */
    public static <K> StoreBuilder<KeyValueStore<K, byte[]>> persistent(final String name, final Serde<K> keys) {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), keys, Serdes.ByteArray());
    }

    /** The store underneath, for keys whose value is never decoded (markers). */
    public KeyValueStore<K, byte[]> bytes() {
        return store;
    }

    public String name() {
        return store.name();
    }

    /** The entry's value, or null when there is none; the decoding error when its bytes cannot be decoded. */
    public V get(final K key) {
        return decode(store.get(key));
    }

    public void put(final K key, final V value) {
        store.put(key, serde.serializer().serialize(store.name(), value));
    }

    /** Removes the entry (a tombstone in the changelog) without reading it. */
    public void remove(final K key) {
        store.put(key, null);
    }

    /** The entries from {@code from} to {@code to} (inclusive), in key order; fails on an unreadable one. */
    public List<KeyValue<K, V>> range(final K from, final K to) {
        final List<KeyValue<K, V>> out = new ArrayList<>();
        try (KeyValueIterator<K, byte[]> it = store.range(from, to)) {
            while (it.hasNext()) {
                final KeyValue<K, byte[]> kv = it.next();
                out.add(KeyValue.pair(kv.key, decode(kv.value)));
            }
        }
        return out;
    }

    /**
     * Reads the whole store: {@code each} gets every readable entry, in key order; the unreadable ones are returned,
     * untouched in the store.
     */
    public List<Unreadable<K>> forEach(final BiConsumer<? super K, ? super V> each) {
        final List<Unreadable<K>> unreadable = new ArrayList<>();
        try (KeyValueIterator<K, byte[]> it = store.all()) {
            while (it.hasNext()) {
                final KeyValue<K, byte[]> kv = it.next();
                final V value;
                try {
                    value = decode(kv.value);
                } catch (final RuntimeException e) {
                    unreadable.add(new Unreadable<>(kv.key, kv.value, e));
                    continue;
                }
                each.accept(kv.key, value);
            }
        }
        return unreadable;
    }

    private V decode(final byte[] bytes) {
        return serde.deserializer().deserialize(store.name(), bytes);
    }
}
