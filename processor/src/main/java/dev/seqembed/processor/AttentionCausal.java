package dev.seqembed.processor;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionBounds;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.ErrorCode;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.engine.ModelUsage;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.state.KvCacheStore;
import dev.seqembed.state.PendingChunk;
import dev.seqembed.state.StateEntries;

/**
 * Attention in {@code causal} mode: each chunk is computed against its sequence's per-layer K/V cache kept in a
 * changelogged store, so a chunk costs O(chunk × prefix) instead of a full recompute. One Embedding per chunk;
 * the {@code last} chunk frees the cache.
 *
 * <p>Micro-batch (SPEC §8, issue 7): chunks wait in a second changelogged store, in arrival order, until they
 * hold {@code attention.batch.max-tokens} tokens or the oldest has waited {@code attention.batch.max-wait-ms}
 * (wall-clock punctuator); then chunks of different sequences share one packed forward (the per-token GEMMs
 * over all their rows, attention per sequence against its own cache). A sequence with several chunks waiting
 * has them computed as one segment of that forward (causal attention: the same as one after another), each
 * with its own Embedding. With {@code max-tokens} 1 every chunk is computed on
 * arrival and nothing waits.
 *
 * <p>The store's layout (header and blocks per sequence, the closed marker) is {@link KvCacheStore}'s.
 *
 * <p>Model hot swap (SPEC §10.5): a cache is only meaningful to the model that built it, and its header names
 * that model. A sequence goes on with it while {@link LiveModels} keeps it loaded (new sequences start on the
 * current one). If that model is no longer loaded (a restart or rebalance since), the sequence is closed and
 * its chunks are dead-lettered with {@link ErrorCode#MODEL_CHANGED}, this one and the later ones, until its
 * {@code last} chunk.
 */
public final class AttentionCausal extends ContextualProcessor<String, TokenChunk, String, Embedding> {

    public static final String STORE = "attention-kv-cache";
    /** Chunks waiting for the next packed forward, keyed by arrival number (big-endian) and sequence id. */
    public static final String PENDING_STORE = "attention-causal-pending";
    /** The child that receives the Embeddings (of either attention processor). */
    public static final String EMBEDDINGS = "attention-out";
    /**
     * The child that receives {@link SequenceEvent#reject dead letters} ({@link DeadLetterWriter}) of either attention
     * processor.
     */
    public static final String DEAD_LETTERS = "attention-dead-letters";
    /** This processor's node name in the topology: dead letters of a flushed batch name it as the handler would. */
    public static final String NODE = "attention";

    private static final Logger LOG = LoggerFactory.getLogger(AttentionCausal.class);
    private static final AvroSerde<TokenChunk> CHUNKS = RecordSerdes.tokenChunk();

    private final AttentionEngine.Factory engines;
    private final LiveModels models;
    private final int maxPositions;
    private final int blockTokens;
    private final AttentionBatching batching;
    private final Telemetry telemetry;
    private AttentionEngine engine;
    private KeyValueStore<String, byte[]> store;
    private WaitingChunks waiting;
    private UnreadableEntries unreadable;
    private ModelUsage usage;

    AttentionCausal(final AttentionEngine.Factory engines, final LiveModels models, final int maxPositions,
                    final int blockTokens, final AttentionBatching batching, final Telemetry telemetry) {
        this.engines = engines;
        this.models = models;
        this.maxPositions = maxPositions;
        this.blockTokens = blockTokens;
        this.batching = batching;
        this.telemetry = telemetry;
    }

    /**
     * The supplier, declaring this processor's stores.
     *
     * @param blockTokens tokens per stored K/V block
     */
    public static ProcessorSupplier<String, TokenChunk, String, Embedding> supplier(
            final AttentionEngine.Factory engines, final LiveModels models, final int maxPositions,
            final int blockTokens, final AttentionBatching batching, final Telemetry telemetry) {
        return new ProcessorSupplier<>() {
            @Override
            public Processor<String, TokenChunk, String, Embedding> get() {
                return new AttentionCausal(engines, models, maxPositions, blockTokens, batching, telemetry);
            }

            @Override
            public Set<StoreBuilder<?>> stores() {
                // Cached: a chunk that waits and is computed within one commit interval costs the pending
                // store's changelog a tombstone, not a put and a tombstone.
                return Set.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(),
                        Serdes.ByteArray()), StateEntries.persistent(PENDING_STORE, Serdes.ByteArray())
                        .withCachingEnabled());
            }
        };
    }

    @Override
    public void init(final ProcessorContext<String, Embedding> context) {
        super.init(context);
        store = context.getStateStore(STORE);
        engine = engines.create(context::currentSystemTimeMs);
        usage = models.usage(STORE + "-" + context.taskId());
        KvCacheStore.modelsInStore(store).forEach(usage::started);
        // After a restart chunks may be waiting: they are flushed soon. An unreadable one is a lost chunk of a
        // known sequence: that sequence is closed, so that its later chunks never meet a cache with a gap.
        unreadable = new UnreadableEntries();
        waiting = new WaitingChunks(new StateEntries<>(context.getStateStore(PENDING_STORE), PendingChunk.SERDE),
                unreadable, this::closeSequence, context.currentSystemTimeMs());
        // Unbatched, the punctuator only serves chunks left waiting by a run with batching (a configuration change).
        if (batched() || !waiting.isEmpty()) {
            context.schedule(Duration.ofMillis(Math.max(1, batching.maxWaitMs())), PunctuationType.WALL_CLOCK_TIME,
                    now -> {
                        unreadable.settle(context, DEAD_LETTERS, now);
                        if (waiting.due(now, batching.maxWaitMs())) {
                            flush();
                        }
                    });
        }
    }

    @Override
    public void close() {
        usage.close();
    }

    /** Whether chunks wait for a micro-batch (else each is computed on arrival). */
    private boolean batched() {
        return batching.maxTokens() > 1;
    }

    @Override
    public void process(final Record<String, TokenChunk> record) {
        unreadable.settle(context(), DEAD_LETTERS, record.timestamp());
        if (record.value() == null) {
            // The validator evicted the sequence: its waiting chunks go first, so that the eviction comes after them.
            if (!waiting.isEmpty()) {
                flush();
            }
            delete(record.key());
            return;
        }
        if (!batched()) {
            if (!waiting.isEmpty()) {
                flush();
            }
            processNow(record);
            return;
        }
        final TokenChunk chunk = record.value();
        waiting.add(chunk.getSequenceId(), CHUNKS.encode(chunk), chunk.getTokens().size(), record.timestamp(),
                context().recordMetadata().orElse(null), context().currentSystemTimeMs());
        if (waiting.tokens() >= batching.maxTokens()) {
            flush();
        }
    }

    /** One chunk computed on arrival ({@code max-tokens} 1); a failure goes to the processing error handler. */
    private void processNow(final Record<String, TokenChunk> record) {
        final String id = record.value().getSequenceId();
        if (KvCacheStore.failed(store, id)) {
            if (record.value().getLast()) {
                delete(id);
            }
            throw ClosedSequences.closedEarlier(id);
        }
        try {
            final Member m = member(record.value(), record.timestamp(), null);
            if (m != null) {
                final Embedding e = engine.on(m.model).causal(id, m.cache, record.value().getChunkIndex(), m.tokens,
                        record.value().getLast(), record.timestamp());
                emit(m, e);
            }
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            throw fail(record.value(), e);
        }
    }

    /** A chunk about to be computed: its sequence's model and cache, and its tokens after truncation. */
    private record Member(TokenChunk chunk, long timestampMs, PendingChunk source, BertModel model, KvCache cache,
                          int before, int[] tokens) {
    }

    /**
     * Resolves a chunk's sequence state: null (after dead-lettering the chunk) when its cache's model is gone.
     * Throws on a corrupt cache.
     */
    private Member member(final TokenChunk chunk, final long timestampMs, final PendingChunk source) {
        final String id = chunk.getSequenceId();
        final KvCache held = KvCacheStore.load(store, id);
        final String closedOn = held == null ? KvCacheStore.closedOn(store, id) : null;
        final BertModel model = held == null ? models.attention() : models.attention(held.modelSha256());
        if (closedOn != null || model == null) {
            modelChanged(chunk, timestampMs, source, held, closedOn);
            return null;
        }
        final KvCache cache = held == null ? model.newCache() : held;
        usage.started(id, model.sha256());
        final int before = cache.length();
        // Truncation (attention.overflow=truncate): positions past the model's last one are dropped.
        final int[] tokens = AttentionBounds.fitting(Vectors.toIntArray(chunk.getTokens()), before, maxPositions);
        return new Member(chunk, timestampMs, source, model, cache, before, tokens);
    }

    /** Stores what a computed chunk left (or frees it on {@code last}) and sends its Embedding. */
    private void emit(final Member m, final Embedding e) {
        store(m, m.before);
        send(m, e);
    }

    /**
     * After a sequence's chunk {@code m}: frees its cache on {@code last}, else stores the tokens added since
     * {@code before}.
     */
    private void store(final Member m, final int before) {
        final String id = m.chunk.getSequenceId();
        if (m.chunk.getLast()) {
            delete(id);
        } else {
            KvCacheStore.save(store, id, m.cache, before, blockTokens);
        }
    }

    private void send(final Member m, final Embedding e) {
        telemetry.embedding(e);
        context().forward(new Record<>(m.chunk.getSequenceId(), e, m.timestampMs), EMBEDDINGS);
    }

    /** A corrupt cache entry or a model error: free the sequence's cache, close the sequence. */
    private ProcessingFailure fail(final TokenChunk chunk, final RuntimeException e) {
        if (chunk.getLast()) {
            delete(chunk.getSequenceId());
        } else {
            closeSequence(chunk.getSequenceId());
        }
        return ProcessingFailure.ofChunk(chunk, "causal attention", e);
    }

    /** Frees a sequence's state and marks it failed: its later chunks are dead-lettered until its last. */
    private void closeSequence(final String id) {
        delete(id);
        KvCacheStore.markFailed(store, id);
    }

    /**
     * Computes every waiting chunk, in passes of one packed forward per model. A pass takes the waiting chunks in
     * arrival order, all of a sequence's as one segment of the forward (attention is causal, so each chunk's
     * embedding is what it would be one chunk after another), up to the sequence's {@code last} chunk: a later
     * chunk under the same id starts a new sequence and waits for the next pass, as does a chunk that cannot join
     * its sequence's segment (it is then handled there on its own). A chunk that fails (its sequence closed
     * earlier, a corrupt cache, a model error) is dead-lettered here, as the processing error handler would have
     * on arrival, and the others go on.
     */
    private void flush() {
        List<WaitingChunks.Waiting> left = waiting.takeAll();
        while (!left.isEmpty()) {
            left = computePass(left);
        }
    }

    /**
     * One sequence's chunks in a pass, in order: one segment of the forward. They share the first one's model and
     * cache; each starts where the one before it ends.
     */
    private record Run(List<Member> members) {
        Run(final Member first) {
            this(new ArrayList<>(List.of(first)));
        }

        Member first() {
            return members.get(0);
        }

        Member last() {
            return members.get(members.size() - 1);
        }

        /** The sequence's length after the last chunk so far. */
        int length() {
            return last().before + last().tokens.length;
        }
    }

    /** Computes one pass over {@code chunks}; returns the chunks left for the next pass, in arrival order. */
    private List<WaitingChunks.Waiting> computePass(final List<WaitingChunks.Waiting> chunks) {
        final List<WaitingChunks.Waiting> later = new ArrayList<>();
        final Map<String, Run> runs = new LinkedHashMap<>();
        final Set<String> deferred = new HashSet<>();
        for (final WaitingChunks.Waiting w : chunks) {
            final String id = w.sequenceId();
            if (deferred.contains(id)) {
                later.add(w);
                continue;
            }
            final Run run = runs.get(id);
            if (run != null && !run.last().chunk.getLast() && join(run, w)) {
                continue;
            }
            if (run != null) { // after the sequence's last chunk, or it cannot join: next pass, and its later chunks
                deferred.add(id);
                later.add(w);
                continue;
            }
            final Member m = start(w);
            if (m != null) {
                runs.put(id, new Run(m));
            }
        }
        final Map<BertModel, List<Run>> byModel = new LinkedHashMap<>();
        runs.values().forEach(r -> byModel.computeIfAbsent(r.first().model, x -> new ArrayList<>()).add(r));
        byModel.forEach(this::compute);
        return later;
    }

    /** Adds a waiting chunk to its sequence's run; false if it cannot be read or placed (left for the next pass). */
    private boolean join(final Run run, final WaitingChunks.Waiting w) {
        final TokenChunk chunk;
        final int[] tokens;
        try {
            chunk = CHUNKS.deserializer().deserialize(PENDING_STORE, w.chunk().value());
            tokens = AttentionBounds.fitting(Vectors.toIntArray(chunk.getTokens()), run.length(), maxPositions);
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            return false;
        }
        run.members().add(new Member(chunk, w.chunk().timestampMs(), w.chunk(), run.first().model,
                run.first().cache, run.length(), tokens));
        return true;
    }

    /**
     * The first chunk of a sequence in a pass: its state resolved, or null after dead-lettering it (its sequence
     * closed earlier, its model gone, a corrupt cache, an unreadable record, an empty first chunk).
     */
    private Member start(final WaitingChunks.Waiting w) {
        final String id = w.sequenceId();
        final PendingChunk source = w.chunk();
        TokenChunk chunk = null;
        try {
            chunk = CHUNKS.deserializer().deserialize(PENDING_STORE, source.value());
            if (KvCacheStore.failed(store, id)) {
                if (chunk.getLast()) {
                    delete(id);
                }
                deadLetter(id, source, ClosedSequences.closedEarlier(id));
                return null;
            }
            final Member m = member(chunk, source.timestampMs(), source);
            if (m != null && m.tokens.length == 0 && m.before == 0) {
                // Nothing to pool yet: this chunk alone fails, not the forward it would have joined.
                throw new IllegalArgumentException(BertModel.EMPTY_CACHE);
            }
            return m;
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            if (chunk == null) { // undecodable: its sequence loses a chunk, so it is closed
                closeSequence(id);
                deadLetter(id, source, new ProcessingFailure("sequence '" + id + "' waiting chunk (causal "
                        + "attention): " + ProcessingFailure.describe(e), e));
            } else {
                deadLetter(id, source, fail(chunk, e));
            }
            return null;
        }
    }

    /** One packed forward over the runs of one model; emits every chunk's Embedding and stores each run's cache. */
    private void compute(final BertModel model, final List<Run> runs) {
        final List<AttentionEngine.CausalChunk> batch = new ArrayList<>();
        for (final Run r : runs) {
            for (final Member m : r.members()) {
                batch.add(new AttentionEngine.CausalChunk(m.chunk.getSequenceId(), m.cache, m.chunk.getChunkIndex(),
                        m.tokens, m.chunk.getLast(), m.timestampMs));
            }
        }
        final List<Embedding> out;
        try {
            out = engine.on(model).causalBatch(batch);
        } catch (final RuntimeException e) {
            if (ProcessingFailure.isKafkaStreamsOwn(e)) {
                throw e;
            }
            for (final Run r : runs) {
                for (final Member m : r.members()) {
                    deadLetter(m.chunk.getSequenceId(), m.source, fail(m.chunk, e));
                }
            }
            return;
        }
        int k = 0;
        for (final Run r : runs) {
            for (final Member m : r.members()) {
                send(m, out.get(k++));
            }
            store(r.last(), r.first().before);
        }
    }

    /** A waiting chunk's dead letter: its record's bytes and source, and the message the error handler would write. */
    private void deadLetter(final String id, final PendingChunk source, final ProcessingFailure failure) {
        final String message = ProcessingErrorHandler.messageOf(NODE, failure);
        LOG.warn("processing error, 1 record(s) to the dead-letter topic and going on: {} (task {}, {})", message,
                context().taskId(), source.topic() == null ? "waiting chunk"
                        : source.topic() + "-" + source.partition() + "@" + source.offset());
        DeadLetterWriter.forward(context(), DEAD_LETTERS, id, new DeadLetter(id.getBytes(StandardCharsets.UTF_8),
                source.value(), ErrorCode.PROCESSING_ERROR, message, source.topic(), source.partition(),
                source.offset()), source.timestampMs());
    }

    /**
     * Closes a sequence whose cache was built by a model that is no longer loaded, or answers a later chunk of
     * one closed so: the chunk goes to the dead-letter topic; a marker keeps the sequence closed until its last
     * chunk (without it, the next chunk would start a new cache at position 0).
     *
     * @param source the waiting chunk's record, or null for the record being processed
     */
    private void modelChanged(final TokenChunk chunk, final long timestampMs, final PendingChunk source,
                              final KvCache held, final String closedOn) {
        final String id = chunk.getSequenceId();
        final String builtBy = held == null ? closedOn
                : held.modelSha256() != null ? held.modelSha256() : "unknown (a cache written before models were named)";
        delete(id);
        if (!chunk.getLast()) {
            KvCacheStore.markClosed(store, id, builtBy);
        }
        final String message = (held != null ? "sequence closed: its KV cache was built by model "
                : "sequence was closed: its KV cache had been built by model ") + builtBy
                + ", which is no longer loaded (current " + models.attention().sha256() + ")";
        final RecordMetadata from = source != null ? null : context().recordMetadata().orElse(null);
        final String topic = source != null ? source.topic() : from == null ? "" : from.topic();
        final int partition = source != null ? source.partition() : from == null ? -1 : from.partition();
        final long offset = source != null ? source.offset() : from == null ? -1 : from.offset();
        final DeadLetter dl = new DeadLetter(id.getBytes(StandardCharsets.UTF_8),
                source != null ? source.value() : CHUNKS.encode(chunk), ErrorCode.MODEL_CHANGED, message,
                topic == null ? "" : topic, partition, offset);
        DeadLetterWriter.forward(context(), DEAD_LETTERS, id, dl, timestampMs);
    }

    /** Drops everything the sequence holds: its cache, its closed marker, its hold on a model. */
    private void delete(final String id) {
        usage.ended(id);
        KvCacheStore.delete(store, id);
    }
}
