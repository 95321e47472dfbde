package dev.seqembed.runtime;

import java.util.Map;
import java.util.Properties;

import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

import dev.seqembed.config.SeqembedConfig;

/**
 * Bounds the off-heap memory of all RocksDB stores of the process (SPEC §10, issue 10.8): one LRU block cache of
 * {@code rocksdb.memory-bytes} shared by every store of both clients, with index and filter blocks inside it, and a
 * write buffer manager that charges memtables to the same cache, flushing them beyond
 * {@code rocksdb.write-buffer-bytes}. On RocksDB's defaults each store (one per task and store: tens of them) has
 * its own 50 MB cache and up to three 16 MB memtables, so memory grows with partitions and open sequences.
 *
 * <p>Kafka Streams creates one instance per store; the cache and manager are static, created on first use from the
 * first store's configuration, and live as long as the process (closing them under open stores would crash
 * RocksDB).
 */
public final class BoundedRocksDbConfig implements RocksDBConfigSetter {

    /** Memtables per store; a full one is flushed while the other takes writes. */
    private static final int MEMTABLES_PER_STORE = 2;
    /** Share of the cache reserved for index and filter blocks (high priority: never evicted by data blocks). */
    private static final double INDEX_FILTER_RATIO = 0.1;

    private static Cache cache;
    private static WriteBufferManager writeBuffers;
    private static long writeBufferBytes;

    /** Makes this the {@code rocksdb.config.setter} of a client, unless the user chose another. */
    static void applyDefault(final Properties props) {
        props.putIfAbsent(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbConfig.class.getName());
    }

    @Override
    public void setConfig(final String storeName, final Options options, final Map<String, Object> configs) {
        init(configs);
        final BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        table.setBlockCache(cache);
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        options.setWriteBufferManager(writeBuffers);
        options.setMaxWriteBufferNumber(MEMTABLES_PER_STORE);
        // Small stores flush small memtables: one store may not take the whole budget before the manager steps in.
        options.setWriteBufferSize(Math.max(1L << 20, Math.min(16L << 20, writeBufferBytes / 4)));
        options.setTableFormatConfig(table);
    }

    private static synchronized void init(final Map<String, Object> configs) {
        if (cache != null) {
            return;
        }
        final long memory = bytes(configs, SeqembedConfig.ROCKSDB_MEMORY_BYTES, 64L << 20);
        writeBufferBytes = Math.min(memory, bytes(configs, SeqembedConfig.ROCKSDB_WRITE_BUFFER_BYTES, 16L << 20));
        cache = new LRUCache(memory, -1, false, INDEX_FILTER_RATIO);
        writeBuffers = new WriteBufferManager(writeBufferBytes, cache);
    }

    private static long bytes(final Map<String, Object> configs, final String key, final long fallback) {
        final Object v = configs.get(key);
        return v == null ? fallback : Long.parseLong(v.toString().trim());
    }

    /** Bytes in use in the shared cache (memtables included), 0 before the first store opened. */
    static synchronized double cacheUsage() {
        return cache == null ? 0 : cache.getUsage();
    }

    @Override
    public void close(final String storeName, final Options options) {
        // The shared cache and write buffer manager outlive every store; nothing per store to free.
    }
}
