package dev.seqembed.topology;

import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.processor.AttentionCausal;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.state.KvCacheStore;
import dev.seqembed.state.PendingChunk;
import dev.seqembed.testing.TestModels;

/**
 * The causal path's micro-batch: chunks waiting together share a packed forward, each sequence's chunks as one
 * segment of it, and every Embedding equals a causal forward over its prefix.
 */
class CausalBatchTopologyTest extends TopologyTestBase {

    private static final Map<String, String> BATCHED = Map.of("attention.mode", "causal",
            "attention.batch.max-tokens", "1000", "attention.batch.max-wait-ms", "50");
    private static final List<String> CAUSAL_STORES = List.of(AttentionCausal.STORE, AttentionCausal.PENDING_STORE);

    private final AtomicBoolean modelFails = new AtomicBoolean();

    @Test
    void chunksOfSeveralSequencesShareOneForwardAndEqualACausalForwardOverEachPrefix() {
        fx = new TopologyFixture(models, stateDir, BATCHED);
        final int[] a = tokens(17, 1);
        final int[] b = tokens(9, 40);
        final int[] c = tokens(6, 80);
        fx.send(chunk("a", 0, Arrays.copyOfRange(a, 0, 5), false));
        fx.send(chunk("b", 0, Arrays.copyOfRange(b, 0, 4), false));
        fx.send(chunk("a", 1, Arrays.copyOfRange(a, 5, 11), false));
        fx.send(chunk("c", 0, c, true));
        fx.send(chunk("b", 1, Arrays.copyOfRange(b, 4, 9), true));
        fx.send(chunk("a", 2, Arrays.copyOfRange(a, 11, 17), true));
        // Below the token budget and before the wait bound: all six wait in the changelogged store.
        assertThat(fx.attention.isEmpty()).isTrue();
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionCausal.PENDING_STORE).approximateNumEntries())
                .isEqualTo(6);

        final List<Embedding> out = fx.attentionOut();
        // One forward: a's three chunks as one segment, b's two as another, c.
        assertThat(out).extracting(e -> e.getSequenceId() + "#" + e.getIndex())
                .containsExactly("a#0", "a#1", "a#2", "b#0", "b#1", "c#0");
        assertThat(out).allSatisfy(e -> {
            assertThat(e.getMetrics().getBatchSize()).isEqualTo(6);
            assertThat(e.getMetrics().getBatchTokens()).isEqualTo(17 + 9 + 6);
        });
        final Map<String, int[]> sequences = Map.of("a", a, "b", b, "c", c);
        for (final Embedding e : out) {
            final int[] all = sequences.get(e.getSequenceId().toString());
            final int prefix = e.getStart() + e.getLength();
            assertThat(e.getMetrics().getSequenceLength()).isEqualTo(prefix);
            assertThat(e.getMetrics().getCacheHitTokens()).isEqualTo(e.getStart());
            assertThat(e.getMetrics().getFlops()).isEqualTo(TestModels.BERT.flops(e.getLength(), prefix));
            assertThat(e.getFinal$()).isEqualTo(prefix == all.length);
            assertVector(e, fullCausal(models.attention(), Arrays.copyOf(all, prefix)));
        }
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionCausal.PENDING_STORE).approximateNumEntries())
                .isZero();
        try (var left = fx.attentionDriver.<String, byte[]>getKeyValueStore(AttentionCausal.STORE).all()) {
            assertThat(left.hasNext()).as("every cache freed by its last chunk").isFalse();
        }
        assertThat(fx.attentionDlq.isEmpty()).isTrue();
    }

    @Test
    void aSequenceIdUsedAgainAfterItsLastChunkStartsANewSequenceInTheNextForward() {
        fx = new TopologyFixture(models, stateDir, BATCHED);
        final int[] first = tokens(8, 1);
        final int[] second = tokens(5, 60);
        fx.sendToAttention(chunk("r", 0, Arrays.copyOfRange(first, 0, 3), false));
        fx.sendToAttention(chunk("r", 1, Arrays.copyOfRange(first, 3, 8), true));
        fx.sendToAttention(chunk("r", 0, Arrays.copyOfRange(second, 0, 2), false));
        fx.sendToAttention(chunk("r", 1, Arrays.copyOfRange(second, 2, 5), true));
        final List<Embedding> out = fx.attentionOut();

        assertThat(out).extracting(e -> e.getStart() + "+" + e.getLength()).containsExactly("0+3", "3+5", "0+2", "2+3");
        assertThat(out).extracting(e -> e.getMetrics().getBatchSize()).containsExactly(2, 2, 2, 2);
        assertVector(out.get(1), fullCausal(models.attention(), first));
        assertVector(out.get(3), fullCausal(models.attention(), second));
        assertThat(fx.attentionDlq.isEmpty()).isTrue();
    }

    @Test
    void anEmptyFirstChunkIsDeadLetteredAloneAndTheOthersOfItsForwardGoOn() {
        fx = new TopologyFixture(models, stateDir, BATCHED);
        final int[] s = tokens(6, 3);
        fx.sendToAttention(chunk("s", 0, s, false));
        fx.sendToAttention(chunk("e", 0, new int[0], true));
        final List<Embedding> out = fx.attentionOut();

        assertThat(out).singleElement().satisfies(e -> assertVector(e, fullCausal(models.attention(), s)));
        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).singleElement().satisfies(r -> assertThat(header(r, DeadLetter.HEADER_MESSAGE))
                .startsWith("attention: sequence 'e' chunk 0").contains(BertModel.EMPTY_CACHE));
    }

    @Test
    void aBatchFlushesAtOnceWhenItReachesTheTokenBudget() {
        fx = new TopologyFixture(models, stateDir, Map.of("attention.mode", "causal",
                "attention.batch.max-tokens", "20", "attention.batch.max-wait-ms", "60000"));
        fx.send(chunk("p", 0, tokens(12, 1), false));
        assertThat(fx.attention.isEmpty()).isTrue();
        fx.send(chunk("q", 0, tokens(8, 2), false)); // 12 + 8 = 20 tokens: flush without waiting
        final List<Embedding> out = fx.attention.readValuesToList();
        assertThat(out).extracting(e -> e.getSequenceId().toString()).containsExactly("p", "q");
        assertThat(out).allSatisfy(e -> assertThat(e.getMetrics().getBatchTokens()).isEqualTo(20));
    }

    @Test
    void withATokenBudgetOfOneEachChunkIsComputedOnArrival() {
        fx = new TopologyFixture(models, stateDir, Map.of("attention.mode", "causal",
                "attention.batch.max-tokens", "1"));
        fx.send(chunk("p", 0, tokens(5, 1), false));
        final List<Embedding> out = fx.attention.readValuesToList();
        assertThat(out).singleElement().satisfies(e -> assertThat(e.getMetrics().getBatchSize()).isEqualTo(1));
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionCausal.PENDING_STORE).approximateNumEntries())
                .isZero();
    }

    @Test
    void aModelErrorDeadLettersThatForwardsChunksAndClosesTheirSequencesOnly() throws Exception {
        final AttentionEngine.Factory failing = failingOnceWhenSet(modelFails);
        fx = new TopologyFixture(models, stateDir, BATCHED, failing);
        final int[] g = tokens(10, 3);
        fx.send(chunk("g", 0, Arrays.copyOfRange(g, 0, 5), false));
        fx.settleAttention();
        final TokenChunk p0 = chunk("p", 0, tokens(4, 1), false);
        final TokenChunk q0 = chunk("q", 0, tokens(3, 7), false);
        fx.send(p0);
        fx.send(q0);
        modelFails.set(true); // the next forward fails: the one of p 0 and q 0
        fx.settleAttention();
        fx.send(chunk("p", 1, tokens(2, 9), true));
        fx.send(chunk("g", 1, Arrays.copyOfRange(g, 5, 10), true));
        final List<Embedding> out = fx.attentionOut();

        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        for (final TestRecord<byte[], byte[]> r : dead) {
            assertThat(header(r, DeadLetter.HEADER_REASON)).isEqualTo("PROCESSING_ERROR");
        }
        // The records as they came from the chunks topic, with their source, and the handler's message.
        assertThat(RecordSerdes.tokenChunk().decode(dead.get(0).value())).isEqualTo(p0);
        assertThat(RecordSerdes.tokenChunk().decode(dead.get(1).value())).isEqualTo(q0);
        assertThat(header(dead.get(0), DeadLetter.HEADER_MESSAGE))
                .startsWith("attention: sequence 'p' chunk 0 (causal attention)").contains("injected model failure");
        assertThat(header(dead.get(0), DeadLetter.HEADER_TOPIC)).isEqualTo(fx.config.topicAttentionChunks());
        assertThat(header(dead.get(2), DeadLetter.HEADER_MESSAGE)).contains("'p' was closed by an earlier");
        assertThat(fx.telemetry.registry().counter("seqembed.dlq", "reason", "PROCESSING_ERROR").count())
                .isEqualTo(3.0);
        // g, in forwards of its own, is whole; p's last chunk freed its marker, q stays closed.
        assertThat(out).extracting(e -> e.getSequenceId() + "#" + e.getIndex()).containsExactly("g#0", "g#1");
        assertVector(out.get(1), fullCausal(models.attention(), g));
        final var store = fx.attentionDriver.<String, byte[]>getKeyValueStore(AttentionCausal.STORE);
        assertThat(KvCacheStore.storedBytes(store, "p")).isZero();
        assertThat(KvCacheStore.failed(store, "p")).isFalse();
        assertThat(KvCacheStore.failed(store, "q")).isTrue();
    }

    @Test
    void chunksWaitingAtARestartAreComputedAfterItAndAnUnreadableOneClosesItsSequence() throws Exception {
        final int[] w = tokens(7, 5);
        final TokenChunk w0 = chunk("w", 0, w, true);
        final Map<byte[], byte[]> waiting = new LinkedHashMap<>();
        waiting.put(pendingKey(3, "w"), PendingChunk.SERDE.serializer().serialize("t", new PendingChunk(
                RecordSerdes.tokenChunk().encode(w0), w.length, 42L, "chunks", 0, 17L)));
        waiting.put(pendingKey(4, "p"), new byte[] {7, 1, 2, 3});
        TopologyFixture.restored(stateDir, TopologyFixture.attentionApplicationId(BATCHED), CAUSAL_STORES,
                AttentionCausal.PENDING_STORE, waiting);
        fx = new TopologyFixture(models, stateDir, BATCHED);

        final List<Embedding> out = fx.attentionOut();
        assertThat(out).singleElement().satisfies(e -> {
            assertThat(e.getSequenceId().toString()).isEqualTo("w");
            assertThat(e.getFinal$()).isTrue();
        });
        assertVector(out.get(0), fullCausal(models.attention(), w));
        final List<TestRecord<byte[], byte[]>> dead = fx.attentionDlq.readRecordsToList();
        assertThat(dead).singleElement().satisfies(r -> assertThat(header(r, DeadLetter.HEADER_MESSAGE))
                .contains("unreadable entry in store '" + AttentionCausal.PENDING_STORE + "'"));
        // p lost a chunk: its later ones are refused rather than computed on a cache with a gap. (Straight to the
        // attention client: this fixture's validator never saw p's first chunk.)
        fx.sendToAttention(chunk("p", 1, tokens(3, 2), true));
        assertThat(fx.attentionOut()).isEmpty();
        assertThat(fx.attentionDlq.readRecordsToList()).singleElement().satisfies(r -> assertThat(
                header(r, DeadLetter.HEADER_MESSAGE)).contains("'p' was closed by an earlier processing error"));
        // Numbering goes on after the restored entries: new chunks do not overwrite waiting ones.
        fx.send(chunk("n", 0, tokens(4, 9), true));
        assertThat(fx.attentionOut()).extracting(e -> e.getSequenceId().toString()).containsExactly("n");
    }

    /** The pending store's key: arrival number, big-endian, then the sequence id. */
    private static byte[] pendingKey(final long arrival, final String id) {
        final byte[] raw = id.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(Long.BYTES + raw.length).putLong(arrival).put(raw).array();
    }

    /** The pooled embedding of one causal forward over the whole prefix, no cache reuse. */
    private static float[] fullCausal(final BertModel bert, final int[] prefix) {
        return bert.appendCausal(bert.newCache(), prefix, Pooling.MEAN, true);
    }


}
