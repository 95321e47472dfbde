package dev.seqembed.processor;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.ErrorCode;
import dev.seqembed.engine.ValidationRules;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.state.SequenceProgress;

/**
 * Checks every input record (SPEC §7) and owns each sequence's lifecycle: valid chunks go on as
 * {@link SequenceEvent.Kind#CHUNK}, bad records as {@link SequenceEvent.Kind#REJECT} with their original
 * bytes, and a sequence that is rejected part-way or idles past {@code state.idle-timeout} gets an
 * {@link SequenceEvent.Kind#ABORT} so the stateful processors downstream free its state.
 *
 * <p>A chunk rejected for its content (empty, token out of range) is not applied: the sequence stays open
 * and the producer may resend that chunk index corrected. A sequence rejected for length or state size is
 * closed: its later chunks are rejected with the same reason.
 */
public final class ChunkValidator extends ContextualProcessor<byte[], byte[], String, SequenceEvent> {

    public static final String STORE = "sequence-progress";

    private static final Logger LOG = LoggerFactory.getLogger(ChunkValidator.class);

    private final ValidationRules rules;
    private final Telemetry telemetry;
    private final AvroSerde<TokenChunk> serde = dev.seqembed.serde.RecordSerdes.tokenChunk();
    private KeyValueStore<String, SequenceProgress> store;

    ChunkValidator(final ValidationRules rules, final Telemetry telemetry) {
        this.rules = rules;
        this.telemetry = telemetry;
    }

    /** The supplier, declaring this processor's store. */
    public static ProcessorSupplier<byte[], byte[], String, SequenceEvent> supplier(final ValidationRules rules,
                                                                                final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<byte[], byte[], String, SequenceEvent> get() {
                return new ChunkValidator(rules, telemetry);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                // Cached: written to RocksDB and the changelog when the task commits, once per sequence changed
                // since the last commit, not once per chunk.
                return Set.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
                        Serdes.String(), SequenceProgress.SERDE).withCachingEnabled());
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, SequenceEvent> context) {
        super.init(context);
        store = context.getStateStore(STORE);
        final long interval = Math.max(1_000L, Math.min(rules.idleTimeoutMs() / 4, 60_000L));
        context.schedule(Duration.ofMillis(interval), PunctuationType.WALL_CLOCK_TIME, this::evictIdle);
    }

    @Override
    public void process(final Record<byte[], byte[]> record) {
        telemetry.recordIn();
        final TokenChunk chunk;
        try {
            chunk = serde.decode(record.value());
        } catch (final IOException e) {
            reject(record, ErrorCode.DESERIALIZATION, "not a TokenChunk: " + e.getMessage());
            return;
        }
        final String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
        final String id = chunk.getSequenceId();
        if (!id.equals(key)) {
            reject(record, ErrorCode.KEY_MISMATCH, "record key '" + key + "' != sequence_id '" + id + "'");
            return;
        }
        final SequenceProgress progress = progress(id, record.timestamp());
        final int index = chunk.getChunkIndex();
        final int expected = progress == null ? 0 : progress.nextChunkIndex();
        if (progress != null && index < expected) {
            reject(record, ErrorCode.DUPLICATE_CHUNK, "chunk " + index + " of '" + id + "' was already applied");
            return;
        }
        if (progress != null && progress.closed()) {
            if (progress.rejected()) {
                reject(record, ErrorCode.valueOf(progress.rejectedReason()),
                        "sequence '" + id + "' was already rejected with " + progress.rejectedReason());
            } else {
                reject(record, ErrorCode.CHUNK_AFTER_LAST, "sequence '" + id + "' already ended at chunk "
                        + (expected - 1) + ", got chunk " + index);
            }
            return;
        }
        if (index != expected) {
            reject(record, ErrorCode.CHUNK_OUT_OF_ORDER, "expected chunk " + expected + " of '" + id + "', got "
                    + index);
            return;
        }
        final int[] tokens = Vectors.toIntArray(chunk.getTokens());
        final int seen = progress == null ? 0 : progress.tokensSeen();
        final ValidationRules.Violation violation = rules.check(id, tokens, seen, chunk.getLast());
        if (violation != null) {
            final ErrorCode code = violation.code();
            if (code == ErrorCode.SEQUENCE_TOO_LONG || code == ErrorCode.STATE_LIMIT) {
                closeRejected(record, progress, index, seen, code, violation.message());
            } else {
                reject(record, code, violation.message());
            }
            return;
        }
        final int total = seen + tokens.length;
        store.put(id, new SequenceProgress(index + 1, total, chunk.getLast(), "", context().currentSystemTimeMs()));
        context().forward(record.withKey(id).withValue(SequenceEvent.chunk(chunk)));
    }

    private void closeRejected(final Record<byte[], byte[]> record, final SequenceProgress progress, final int index,
                               final int seen, final ErrorCode reason, final String message) {
        final String id = new String(record.key(), StandardCharsets.UTF_8);
        store.put(id, new SequenceProgress(index, seen, true, reason.name(), context().currentSystemTimeMs()));
        reject(record, reason, message);
        if (progress != null) {
            context().forward(record.withKey(id).withValue(SequenceEvent.abort(id)));
        }
    }

    private void reject(final Record<byte[], byte[]> record, final ErrorCode reason, final String message) {
        final RecordMetadata meta = context().recordMetadata().orElse(null);
        final DeadLetter dl = new DeadLetter(record.key(), record.value(), reason, message,
                meta == null ? "" : meta.topic(), meta == null ? -1 : meta.partition(),
                meta == null ? -1 : meta.offset());
        context().forward(record.withKey((String) null).withValue(SequenceEvent.reject(dl)));
    }

    /**
     * The sequence's progress. An entry that cannot be decoded (a corrupt changelog record, restored) would fail
     * every chunk of the sequence and every eviction scan: it closes the sequence instead ({@link #closeUnreadable}).
     */
    private SequenceProgress progress(final String id, final long timestamp) {
        try {
            return store.get(id);
        } catch (final SerializationException | BufferUnderflowException e) {
            return closeUnreadable(id, e, timestamp);
        }
    }

    /**
     * Replaces an unreadable progress entry with the sequence closed as {@code PROCESSING_ERROR} (its later chunks
     * are dead-lettered with that reason), dead-letters the loss (key = sequence id, empty value, the decoding
     * error; the bytes are not at hand through the typed store) and aborts the sequence downstream, so its
     * buffered tokens never yield an embedding of part of it.
     */
    private SequenceProgress closeUnreadable(final String id, final RuntimeException error, final long timestamp) {
        final SequenceProgress closed = new SequenceProgress(0, 0, true, ErrorCode.PROCESSING_ERROR.name(),
                context().currentSystemTimeMs());
        store.put(id, closed); // a put does not read the old value back
        final String message = "unreadable entry in store '" + STORE + "' key '" + id + "' replaced: "
                + ProcessingFailure.describe(error) + "; sequence '" + id + "' closed";
        LOG.warn("{}, dead-lettered as {} (task {})", message, ErrorCode.PROCESSING_ERROR, context().taskId());
        final byte[] key = id.getBytes(StandardCharsets.UTF_8);
        context().forward(new Record<>((String) null, SequenceEvent.reject(new DeadLetter(key, new byte[0],
                ErrorCode.PROCESSING_ERROR, message, null, -1, -1)), timestamp));
        context().forward(new Record<>(id, SequenceEvent.abort(id), timestamp));
        return closed;
    }

    private void evictIdle(final long now) {
        final List<KeyValue<String, SequenceProgress>> idle = new ArrayList<>();
        final Map<String, RuntimeException> unreadable = new LinkedHashMap<>();
        try (KeyValueIterator<String, SequenceProgress> it = store.all()) {
            while (it.hasNext()) {
                final String key = it.peekNextKey();
                final KeyValue<String, SequenceProgress> kv;
                try {
                    kv = it.next();
                } catch (final SerializationException | BufferUnderflowException e) {
                    unreadable.put(key, e);
                    if (it.hasNext() && key.equals(it.peekNextKey())) {
                        break; // the iterator did not move past it: leave the rest to the next scan
                    }
                    continue;
                }
                if (now - kv.value.lastSeenMs() >= rules.idleTimeoutMs()) {
                    idle.add(kv);
                }
            }
        }
        unreadable.forEach((id, e) -> closeUnreadable(id, e, now));
        int open = 0;
        for (final KeyValue<String, SequenceProgress> kv : idle) {
            store.delete(kv.key);
            if (!kv.value.closed()) {
                open++;
                context().forward(new Record<>(kv.key, SequenceEvent.abort(kv.key), now));
            }
        }
        if (open > 0) {
            telemetry.evicted(open);
            LOG.info("evicted {} idle unfinished sequence(s) after {} ms without a chunk", open,
                    rules.idleTimeoutMs());
        }
    }
}
