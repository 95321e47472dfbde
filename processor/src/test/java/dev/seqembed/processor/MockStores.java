package dev.seqembed.processor;

import java.util.List;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * In-memory stores for a processor on a MockProcessorContext, of the kinds the processors declare: values as bytes
 * ({@link dev.seqembed.state.StateEntries}: a test writes corrupt bytes straight into them) or typed by a serde.
 */
final class MockStores {

    private MockStores() {
    }

    /** A store of values kept as bytes, registered on {@code ctx}. */
    static <K> KeyValueStore<K, byte[]> bytes(final MockProcessorContext<?, ?> ctx, final String name,
                                              final Serde<K> keys) {
        return typed(ctx, Stores.inMemoryKeyValueStore(name), keys, Serdes.ByteArray());
    }

    /** A store over {@code bytes} with these serdes, registered on {@code ctx}. */
    static <K, V> KeyValueStore<K, V> typed(final MockProcessorContext<?, ?> ctx,
                                            final KeyValueBytesStoreSupplier bytes, final Serde<K> keys,
                                            final Serde<V> values) {
        final KeyValueStore<K, V> s = Stores.keyValueStoreBuilder(bytes, keys, values).withLoggingDisabled().build();
        s.init(ctx.getStateStoreContext(), s);
        ctx.addStateStore(s);
        return s;
    }

    /** A bytes store supplier that hands out one store, so the test can write raw (corrupt) bytes into it. */
    static KeyValueBytesStoreSupplier rawAccess(final String name, final List<KeyValueStore<Bytes, byte[]>> out) {
        final KeyValueBytesStoreSupplier inner = Stores.inMemoryKeyValueStore(name);
        final KeyValueStore<Bytes, byte[]> store = inner.get();
        out.add(store);
        return new KeyValueBytesStoreSupplier() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public KeyValueStore<Bytes, byte[]> get() {
                return store;
            }

            @Override
            public String metricsScope() {
                return inner.metricsScope();
            }
        };
    }
}
