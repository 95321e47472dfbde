package dev.seqembed.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.seqembed.model.KvCache;

/** The causal cache's layout in a real in-memory store: saved in blocks, read back whole, ids kept apart. */
class KvCacheStoreTest {

    private static final int LAYERS = 2;
    private static final int HIDDEN = 3;

    private KeyValueStore<String, byte[]> store;

    @BeforeEach
    void store() {
        final Properties p = new Properties();
        p.put("application.id", "seqembed-test");
        p.put("bootstrap.servers", "unused:9092");
        p.put("processing.exception.handler.global.enabled", "true");
        final MockProcessorContext<Object, Object> context = new MockProcessorContext<>(p);
        store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("kv"), Serdes.String(), Serdes.ByteArray())
                .withLoggingDisabled().build();
        store.init(context.getStateStoreContext(), store);
    }

    /**
     * A cache of {@code length} tokens in KvCache's documented format; the value at token t of a layer does not
     * depend on the length, so a longer cache extends a shorter one as appending a chunk would.
     */
    private static KvCache cache(final int length, final float salt) {
        final ByteBuffer b = ByteBuffer.allocate(20 + 4 * (2 * LAYERS * length * HIDDEN + 2 * HIDDEN))
                .order(ByteOrder.LITTLE_ENDIAN);
        b.put("SEKV".getBytes(StandardCharsets.US_ASCII)).putInt(1).putInt(LAYERS).putInt(HIDDEN).putInt(length);
        for (int l = 0; l < LAYERS; l++) {
            for (int kv = 0; kv < 2; kv++) {
                for (int i = 0; i < length * HIDDEN; i++) {
                    b.putFloat(salt + 1000 * l + 100 * kv + i);
                }
            }
        }
        for (int i = 0; i < 2 * HIDDEN; i++) {
            b.putFloat(salt + length + i);
        }
        return KvCache.fromBytes(b.array());
    }

    @Test
    void savedInBlocksAndReadBackWhole() {
        final KvCache five = cache(5, 0);
        KvCacheStore.save(store, "s", five, 0, 2);
        assertThat(KvCacheStore.load(store, "s").toBytes()).isEqualTo(five.toBytes());
        // Header + blocks [0,2) [2,4) [4,5).
        assertThat(store.approximateNumEntries()).isEqualTo(4);

        // The next chunk rewrites the partial block [4,6) and adds [6,7); earlier blocks stay as they are.
        final KvCache seven = cache(7, 0);
        KvCacheStore.save(store, "s", seven, 5, 2);
        assertThat(KvCacheStore.load(store, "s").toBytes()).isEqualTo(seven.toBytes());
        assertThat(store.approximateNumEntries()).isEqualTo(5);
    }

    @Test
    void idsThatArePrefixesOfOthersStayApart() {
        final KvCache s = cache(3, 0);
        final KvCache s1 = cache(4, 0.5f);
        KvCacheStore.save(store, "s", s, 0, 2);
        KvCacheStore.save(store, "s1", s1, 0, 2);
        assertThat(KvCacheStore.load(store, "s").toBytes()).isEqualTo(s.toBytes());
        assertThat(KvCacheStore.load(store, "s1").toBytes()).isEqualTo(s1.toBytes());
        // Keys: "s1\0h" (4 chars) and two "s1\0b" + 10 digits (14 chars); values: header and both blocks.
        final long s1Bytes = 4 + s1.headerBytes().length + 2 * 14 + s1.blockBytes(0, 2).length
                + s1.blockBytes(2, 4).length;
        assertThat(KvCacheStore.storedBytes(store, "s1")).isEqualTo(s1Bytes);

        KvCacheStore.delete(store, "s");
        assertThat(KvCacheStore.load(store, "s")).isNull();
        assertThat(KvCacheStore.storedBytes(store, "s")).isZero();
        assertThat(KvCacheStore.load(store, "s1").toBytes()).isEqualTo(s1.toBytes());
        assertThat(KvCacheStore.storedBytes(store, "s1")).isEqualTo(s1Bytes);
    }

    @Test
    void closedMarkersGoWithTheSequence() {
        KvCacheStore.save(store, "s", cache(3, 0), 0, 2);
        KvCacheStore.delete(store, "s");
        KvCacheStore.markFailed(store, "s");
        KvCacheStore.markClosed(store, "t", "abc");
        assertThat(KvCacheStore.failed(store, "s")).isTrue();
        assertThat(KvCacheStore.failed(store, "t")).isFalse();
        assertThat(KvCacheStore.closedOn(store, "t")).isEqualTo("abc");
        // Neither marker looks like a cache to a reader of the store.
        assertThat(KvCacheStore.load(store, "s")).isNull();
        assertThat(KvCacheStore.modelsInStore(store)).isEmpty();

        KvCacheStore.delete(store, "s");
        KvCacheStore.delete(store, "t");
        assertThat(KvCacheStore.failed(store, "s")).isFalse();
        assertThat(KvCacheStore.closedOn(store, "t")).isNull();
        assertThat(store.approximateNumEntries()).isZero();
    }

    @Test
    void blocksHoldAboutTheTargetBytes() {
        // 2 (K and V) x 4 layers x 128 floats x 4 bytes = 4 KiB per token.
        assertThat(KvCacheStore.blockTokens(4, 128, 64 * 1024)).isEqualTo(16);
        assertThat(KvCacheStore.blockTokens(4, 128, 100)).isEqualTo(1);
    }
}
