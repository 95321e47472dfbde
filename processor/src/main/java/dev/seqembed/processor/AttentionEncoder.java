package dev.seqembed.processor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.StoreBuilder;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionBounds;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.AttentionWindows;
import dev.seqembed.engine.ErrorCode;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.engine.ModelUsage;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.BertModel;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.state.ReadySequence;
import dev.seqembed.state.StateEntries;
import dev.seqembed.state.TokenBuffer;

/**
 * Attention in {@code encoder} mode: buffers a sequence's chunks in a changelogged store until its
 * {@code last} chunk; complete sequences then wait in a micro-batch (a second changelogged store, in arrival
 * order) and every sequence in it goes through one packed forward: the per-token GEMMs run over the rows of
 * all of them, attention per sequence, no padding (SPEC §8, issue 7). The batch flushes when it holds
 * {@code attention.batch.max-tokens} tokens or when its oldest sequence has waited
 * {@code attention.batch.max-wait-ms} (wall-clock punctuator): under load, sequences that complete together
 * share a forward; alone, one waits at most the wait bound.
 *
 * <p>Model hot swap (SPEC §10.5): a sequence's buffer and its ready entry name the model that was current at
 * its first chunk, and that model embeds it (a batch holding sequences of two models runs one packed forward
 * per model); {@link LiveModels} keeps the model loaded while such sequences wait. A sequence whose model is no
 * longer loaded (a restart or rebalance since) holds only tokens, so the current model embeds it, and the
 * Embedding says so.
 *
 * <p>Under {@code attention.overflow=window} a sequence longer than the model's positions is kept whole and
 * embedded as overlapping windows ({@link AttentionWindows}), one Embedding per window: its windows go into the
 * batch as separate items. The validator bounds the buffer by {@code state.max-bytes-per-sequence}.
 *
 * <p>Both stores are read whole at {@code init}; an entry that cannot be decoded there is dead-lettered
 * ({@link UnreadableEntries}), and a lost buffer closes its sequence. Embeddings go to the child
 * {@link AttentionCausal#EMBEDDINGS}, dead letters to {@link AttentionCausal#DEAD_LETTERS}.
 */
public final class AttentionEncoder extends ContextualProcessor<String, TokenChunk, String, Embedding> {

    public static final String STORE = "attention-buffer";
    /** Complete sequences waiting for the next packed forward, keyed by arrival number (big-endian). */
    public static final String READY_STORE = "attention-ready";

    /** The closed marker's value ({@link ClosedSequences}): never read. */
    private static final byte[] CLOSED = TokenBuffer.SERDE.serializer().serialize(STORE, new TokenBuffer(new int[0]));
    private static final AvroSerde<TokenChunk> CHUNKS = RecordSerdes.tokenChunk();

    private final AttentionEngine.Factory engines;
    private final LiveModels models;
    private final int maxPositions;
    private final int windowStride;
    private final AttentionBatching batching;
    private final Telemetry telemetry;
    private AttentionEngine engine;
    private StateEntries<String, TokenBuffer> buffers;
    private StateEntries<byte[], ReadySequence> ready;
    private UnreadableEntries unreadable;
    private long nextReady;
    /** Key of the oldest waiting sequence: flushes seek here, past the tombstones of earlier batches. */
    private long firstReady;
    private int readyTokens;
    private int readyCount;
    private long oldestReadyAtMs;
    private ModelUsage usage;

    AttentionEncoder(final AttentionEngine.Factory engines, final LiveModels models, final int maxPositions,
                     final int windowStride, final AttentionBatching batching, final Telemetry telemetry) {
        this.engines = engines;
        this.models = models;
        this.maxPositions = maxPositions;
        this.windowStride = windowStride;
        this.batching = batching;
        this.telemetry = telemetry;
    }

    /**
     * The supplier, declaring this processor's store.
     *
     * @param maxPositions the model's positions P: without windows, tokens beyond them are dropped (truncation;
     *                     the validator rejects instead when asked to)
     * @param windowStride &gt; 0: sequences longer than P are embedded as windows this far apart
     *                     ({@code attention.overflow=window}); 0: no windows
     */
    public static ProcessorSupplier<String, TokenChunk, String, Embedding> supplier(
            final AttentionEngine.Factory engines, final LiveModels models, final int maxPositions,
            final int windowStride, final AttentionBatching batching, final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, TokenChunk, String, Embedding> get() {
                return new AttentionEncoder(engines, models, maxPositions, windowStride, batching, telemetry);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                return Set.of(StateEntries.persistent(STORE, Serdes.String()),
                        StateEntries.persistent(READY_STORE, Serdes.ByteArray()));
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, Embedding> context) {
        super.init(context);
        buffers = new StateEntries<>(context.getStateStore(STORE), TokenBuffer.SERDE);
        ready = new StateEntries<>(context.getStateStore(READY_STORE), ReadySequence.SERDE);
        engine = engines.create(context::currentSystemTimeMs);
        usage = models.usage(STORE + "-" + context.taskId());
        unreadable = new UnreadableEntries();
        unreadable.readSequences(buffers, (id, b) -> usage.started(id, b.modelSha256()),
                id -> ClosedSequences.close(buffers.bytes(), id, CLOSED, false));
        // After a restart the ready store may hold a batch: continue its numbering and flush it soon. An unreadable
        // entry is a whole sequence lost; nothing of it comes any more, so it has nothing to close.
        unreadable.read(ready, (k, r) -> {
            usage.started(r.sequenceId(), r.modelSha256());
            final long key = ByteBuffer.wrap(k).getLong();
            firstReady = readyCount == 0 ? key : Math.min(firstReady, key);
            nextReady = Math.max(nextReady, key + 1);
            readyCount++;
            readyTokens += r.tokens().length;
        }, ready::remove);
        if (readyCount == 0) {
            firstReady = nextReady;
        }
        oldestReadyAtMs = context.currentSystemTimeMs();
        context.schedule(Duration.ofMillis(Math.max(1, batching.maxWaitMs())), PunctuationType.WALL_CLOCK_TIME,
                now -> {
                    unreadable.settle(context, AttentionCausal.DEAD_LETTERS, now);
                    if (readyCount > 0 && now - oldestReadyAtMs >= batching.maxWaitMs()) {
                        flush();
                    }
                });
    }

    @Override
    public void close() {
        usage.close();
    }

    @Override
    public void process(final Record<String, TokenChunk> record) {
        unreadable.settle(context(), AttentionCausal.DEAD_LETTERS, record.timestamp());
        if (record.value() == null) {
            buffers.remove(record.key());
            buffers.remove(ClosedSequences.markerKey(record.key()));
            usage.ended(record.key());
            return;
        }
        final String id = record.value().getSequenceId();
        if (ClosedSequences.isClosed(buffers.bytes(), id)) {
            throw ClosedSequences.rejectLater(buffers.bytes(), id, record.value().getLast());
        }
        try {
            apply(record, record.value());
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e) || e instanceof ProcessingFailure) {
                // Kafka's own, or a micro-batch that failed (it has dead-lettered its sequences, this one included).
                throw e;
            }
            // A corrupt buffer: free the sequence's buffer, close the sequence, go on.
            ClosedSequences.close(buffers.bytes(), id, CLOSED, record.value().getLast());
            usage.ended(id);
            throw ProcessingFailure.ofChunk(record.value(), "encoder attention", e);
        }
    }

    private void apply(final Record<String, TokenChunk> record, final TokenChunk chunk) {
        final String id = chunk.getSequenceId();
        final TokenBuffer held = buffers.get(id);
        final String model = modelFor(held == null ? null : held.modelSha256()).sha256();
        final int[] before = held == null ? new int[0] : held.tokens();
        final int[] added = AttentionBounds.kept(Vectors.toIntArray(chunk.getTokens()), before.length, maxPositions,
                windowStride);
        final int[] tokens = Arrays.copyOf(before, before.length + added.length);
        System.arraycopy(added, 0, tokens, before.length, added.length);
        if (!chunk.getLast()) {
            buffers.put(id, new TokenBuffer(tokens, model));
            usage.started(id, model);
            return;
        }
        buffers.remove(id);
        if (readyCount == 0) {
            oldestReadyAtMs = context().currentSystemTimeMs();
        }
        ready.put(key(nextReady++), new ReadySequence(id, tokens, record.timestamp(), model));
        usage.started(id, model);
        readyCount++;
        readyTokens += tokens.length;
        if (readyTokens >= batching.maxTokens()) {
            flush();
        }
    }

    private void flush() {
        final List<KeyValue<byte[], ReadySequence>> batch = new ArrayList<>(readyCount);
        final List<List<Embedding>> embeddings;
        try {
            // A range from the oldest live key, not all(): a scan from the start would step over the tombstones
            // of every earlier batch.
            batch.addAll(ready.range(key(firstReady), key(nextReady - 1)));
            embeddings = encode(batch);
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            throw dropBatch(e);
        }
        for (int i = 0; i < batch.size(); i++) {
            for (final Embedding e : embeddings.get(i)) {
                telemetry.embedding(e);
                context().forward(new Record<>(e.getSequenceId(), e, batch.get(i).value.timestampMs()),
                        AttentionCausal.EMBEDDINGS);
            }
            ready.remove(batch.get(i).key);
            usage.ended(batch.get(i).value.sequenceId());
        }
        batchEmptied();
    }

    /** After a flush or a dropped batch: nothing waits, the next batch starts at the next arrival number. */
    private void batchEmptied() {
        readyCount = 0;
        readyTokens = 0;
        firstReady = nextReady;
    }

    /**
     * The Embeddings of each waiting sequence, in batch order: one packed forward per model (all of them on one
     * model, unless a swap happened while they waited).
     */
    private List<List<Embedding>> encode(final List<KeyValue<byte[], ReadySequence>> batch) {
        final Map<BertModel, List<Integer>> byModel = new LinkedHashMap<>();
        for (int i = 0; i < batch.size(); i++) {
            byModel.computeIfAbsent(modelFor(batch.get(i).value.modelSha256()), m -> new ArrayList<>()).add(i);
        }
        // Under attention.overflow=window a long sequence is several items (its windows), in packed forwards of at
        // most attention.batch.max-tokens each, so that a long document never makes one huge forward.
        final List<List<Embedding>> embeddings = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            embeddings.add(new ArrayList<>(1));
        }
        byModel.forEach((model, indexes) -> {
            final List<AttentionEngine.Pending> pending = new ArrayList<>(indexes.size());
            final List<Integer> owner = new ArrayList<>(indexes.size());
            for (final int i : indexes) {
                final ReadySequence r = batch.get(i).value;
                for (final AttentionEngine.Pending p : AttentionEngine.Pending.of(r.sequenceId(), r.tokens(),
                        r.timestampMs(), TokenBuffer.sizeBytes(r.tokens().length), maxPositions, windowStride)) {
                    pending.add(p);
                    owner.add(i);
                }
            }
            int from = 0;
            while (from < pending.size()) {
                int to = from + 1;
                int tokens = pending.get(from).tokens().length;
                while (to < pending.size() && tokens + pending.get(to).tokens().length <= batching.maxTokens()) {
                    tokens += pending.get(to++).tokens().length;
                }
                final List<Embedding> out = engine.on(model).encodeBatch(pending.subList(from, to));
                for (int k = 0; k < out.size(); k++) {
                    embeddings.get(owner.get(from + k)).add(out.get(k));
                }
                from = to;
            }
        });
        return embeddings;
    }

    /** The model a sequence started on, or the current one when that is unknown or no longer loaded. */
    private BertModel modelFor(final String sha256) {
        final BertModel started = models.attention(sha256);
        return started != null ? started : models.attention();
    }

    /**
     * A micro-batch that cannot be computed (a model error, a corrupt entry): every waiting sequence goes to the
     * dead-letter topic and its entry is freed. Each entry is read on its own, so that one corrupt entry costs only
     * itself (it is freed without being read again, and counted in the message). Their chunks were merged when they
     * completed, so each dead letter is the whole sequence as one {@code last} TokenChunk (index 0), in the encoding
     * a producer writes: it can be sent to {@code tokens} again as it is.
     */
    private ProcessingFailure dropBatch(final RuntimeException e) {
        final List<ReadySequence> members = new ArrayList<>(readyCount);
        int unreadable = 0;
        for (long s = firstReady; s < nextReady; s++) {
            try {
                final ReadySequence r = ready.get(key(s));
                if (r != null) {
                    members.add(r);
                }
            } catch (final RuntimeException unread) {
                if (ProcessingFailure.isKafkaStreamsOwn(unread)) {
                    throw unread;
                }
                unreadable++;
            }
            ready.remove(key(s));
        }
        batchEmptied();
        final String message = "encoder attention batch of " + (members.size() + unreadable) + " sequence(s)"
                + (unreadable > 0 ? " (" + unreadable + " unreadable)" : "") + ": " + ProcessingFailure.describe(e);
        final List<DeadLetter> letters = new ArrayList<>(members.size());
        for (final ReadySequence r : members) {
            usage.ended(r.sequenceId());
            final TokenChunk whole = TokenChunk.newBuilder().setSequenceId(r.sequenceId()).setChunkIndex(0)
                    .setTokens(Arrays.stream(r.tokens()).boxed().toList()).setLast(true).build();
            letters.add(new DeadLetter(r.sequenceId().getBytes(StandardCharsets.UTF_8), CHUNKS.encode(whole),
                    ErrorCode.PROCESSING_ERROR, "sequence '" + r.sequenceId() + "': " + message, null, -1, -1));
        }
        return new ProcessingFailure(message, e, letters);
    }

    /** Big-endian, so the store's byte order is arrival order. */
    private static byte[] key(final long sequence) {
        return ByteBuffer.allocate(Long.BYTES).putLong(sequence).array();
    }
}
