package dev.seqembed.topology;

import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.engine.Vectors;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.processor.AttentionEncoder;
import dev.seqembed.processor.ChunkValidator;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.processor.WindowAssembler;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.TestModels;

class SeqembedTopologyTest extends TopologyTestBase {


    private TopologyFixture fixture(final Map<String, String> settings) {
        fx = new TopologyFixture(models, stateDir, settings);
        return fx;
    }

    /** Stores declared by a topology, as Kafka Streams sees them. */
    private static java.util.Set<String> stores(final org.apache.kafka.streams.Topology topology) {
        final java.util.Set<String> out = new java.util.TreeSet<>();
        topology.describe().subtopologies().forEach(st -> st.nodes().forEach(n -> {
            if (n instanceof org.apache.kafka.streams.TopologyDescription.Processor p) {
                out.addAll(p.stores());
            }
        }));
        return out;
    }

    @Test
    void theStoreListsResetUsesAreTheTopologiesStores() {
        // reset removes exactly <app-id>[-attention]-<store>-changelog for these lists: they must not drift
        final dev.seqembed.metrics.Telemetry telemetry = new dev.seqembed.metrics.Telemetry(
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
        final SeqembedConfig encoder = SeqembedConfig.from(Map.of("bootstrap.servers", "unused:9092"));
        final SeqembedConfig causal = SeqembedConfig.from(Map.of("bootstrap.servers", "unused:9092",
                "attention.mode", "causal"));
        assertThat(stores(SeqembedTopology.ingest(encoder, models, telemetry)))
                .containsExactlyInAnyOrderElementsOf(SeqembedTopology.INGEST_STORES);
        final java.util.Set<String> attention = new java.util.TreeSet<>(
                stores(SeqembedTopology.attention(encoder, models, telemetry)));
        attention.addAll(stores(SeqembedTopology.attention(causal, models, telemetry)));
        assertThat(attention).containsExactlyInAnyOrderElementsOf(SeqembedTopology.ATTENTION_STORES);
    }

    /** The windows of SPEC §4.1, computed independently of the windower. */
    private static float[][] expectedDense(final int[] seq) {
        final WindowMlpConfig c = models.dense().config();
        final int n = seq.length;
        final int count = n <= c.window() ? 1 : 1 + (n - c.window() + c.stride() - 1) / c.stride();
        final int[][] windows = new int[count][c.window()];
        final int[] valid = new int[count];
        for (int k = 0; k < count; k++) {
            Arrays.fill(windows[k], c.padTokenId());
            for (int i = 0; i < c.window() && k * c.stride() + i < n; i++) {
                windows[k][i] = seq[k * c.stride() + i];
                valid[k]++;
            }
        }
        return models.dense().embedWindows(windows, valid);
    }

    @ParameterizedTest(name = "n={0} in chunks of {1}")
    @CsvSource({"1,0", "3,0", "4,0", "5,0", "6,0", "11,0", "11,3", "20,4", "20,1", "33,7"})
    void denseEmbedsEveryWindowAcrossChunkBoundaries(final int n, final int chunkSize) {
        fixture(Map.of());
        final int[] seq = tokens(n, n);
        sendInChunks("s", seq, chunkSize);
        final List<Embedding> out = fx.denseOut();
        final float[][] want = expectedDense(seq);
        assertThat(out).hasSize(want.length);
        for (int k = 0; k < want.length; k++) {
            final Embedding e = out.get(k);
            assertThat(e.getPath()).isEqualTo(EmbeddingPath.DENSE);
            assertThat(e.getIndex()).isEqualTo(k);
            assertThat(e.getStart()).isEqualTo(k * TestModels.DENSE.stride());
            assertThat(e.getLength()).isEqualTo(Math.min(TestModels.DENSE.window(), n - k * TestModels.DENSE.stride()));
            assertThat(e.getFinal$()).isEqualTo(k == want.length - 1);
            assertClose(Vectors.toArray(e.getVector()), want[k], 1e-5f);
            assertThat(e.getMetrics().getFlops()).isEqualTo(TestModels.DENSE.flopsPerWindow());
            assertThat(e.getMetrics().getSequenceLength()).isEqualTo(e.getStart() + e.getLength());
            assertThat(e.getModel().getSha256()).isEqualTo(models.dense().sha256());
        }
        try (var all = fx.driver.getKeyValueStore(WindowAssembler.STORE).all()) {
            assertThat(all.hasNext()).as("window buffer freed at the end of the sequence").isFalse();
        }
    }

    @Test
    void denseBatchesFlushBySizeWithoutWaiting() {
        fixture(Map.of("dense.batch.max-windows", "3"));
        fx.send(chunk("a", 0, tokens(12, 0), true)); // 5 windows: one batch of 3 now, 2 wait
        final List<Embedding> now = fx.dense.readValuesToList();
        assertThat(now).hasSize(3).allSatisfy(e -> assertThat(e.getMetrics().getBatchSize()).isEqualTo(3));
        final List<Embedding> later = fx.denseOut();
        assertThat(later).hasSize(2).allSatisfy(e -> assertThat(e.getMetrics().getBatchSize()).isEqualTo(2));
        assertThat(later.get(1).getFinal$()).isTrue();
    }

    @Test
    void attentionEncoderWaitsForTheLastChunkThenEncodesTheWholeSequence() {
        fixture(Map.of());
        final int[] seq = tokens(23, 5);
        fx.send(chunk("e", 0, Arrays.copyOfRange(seq, 0, 10), false));
        fx.send(chunk("e", 1, Arrays.copyOfRange(seq, 10, 20), false));
        assertThat(fx.attentionOut()).isEmpty();
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE).get("e")).isNotNull();
        fx.send(chunk("e", 2, Arrays.copyOfRange(seq, 20, 23), true));
        final List<Embedding> out = fx.attentionOut();
        assertThat(out).hasSize(1);
        final Embedding e = out.get(0);
        assertThat(e.getIndex()).isZero();
        assertThat(e.getStart()).isZero();
        assertThat(e.getLength()).isEqualTo(23);
        assertThat(e.getFinal$()).isTrue();
        assertClose(Vectors.toArray(e.getVector()), models.attention().encode(seq, Pooling.MEAN, true), 1e-6f);
        assertThat(e.getMetrics().getFlops()).isEqualTo(TestModels.BERT.flops(23, 23));
        assertThat(e.getMetrics().getCacheHitTokens()).isZero();
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE).get("e")).isNull();
    }

    @Test
    void encoderSequencesCompletingTogetherShareOnePackedForward() {
        fixture(Map.of("attention.batch.max-tokens", "1000", "attention.batch.max-wait-ms", "50"));
        final int[][] seqs = {tokens(7, 1), tokens(30, 2), tokens(12, 3)};
        for (int k = 0; k < seqs.length; k++) {
            fx.send(chunk("b" + k, 0, seqs[k], true));
        }
        // below the token budget and before the wait bound: still waiting, in the changelogged ready store
        assertThat(fx.attention.isEmpty()).isTrue();
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.READY_STORE).approximateNumEntries())
                .isEqualTo(3);
        final List<Embedding> out = fx.attentionOut();
        assertThat(out).extracting(Embedding::getSequenceId).containsExactly("b0", "b1", "b2");
        for (int k = 0; k < seqs.length; k++) {
            final Embedding e = out.get(k);
            assertThat(e.getMetrics().getBatchSize()).isEqualTo(3);
            assertThat(e.getMetrics().getBatchTokens()).isEqualTo(49);
            assertThat(e.getLength()).isEqualTo(seqs[k].length);
            assertThat(e.getMetrics().getFlops()).isEqualTo(TestModels.BERT.flops(seqs[k].length, seqs[k].length));
            assertClose(Vectors.toArray(e.getVector()), models.attention().encode(seqs[k], Pooling.MEAN, true), 1e-5f);
        }
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.READY_STORE).approximateNumEntries()).isZero();
    }

    @Test
    void encoderBatchFlushesAtOnceWhenItReachesTheTokenBudget() {
        fixture(Map.of("attention.batch.max-tokens", "40", "attention.batch.max-wait-ms", "60000"));
        fx.send(chunk("p", 0, tokens(25, 1), true));
        assertThat(fx.attention.isEmpty()).isTrue();
        fx.send(chunk("q", 0, tokens(15, 2), true)); // 25 + 15 = 40 tokens: flush without waiting
        final List<Embedding> out = fx.attention.readValuesToList();
        assertThat(out).extracting(Embedding::getSequenceId).containsExactly("p", "q");
        assertThat(out).allSatisfy(e -> assertThat(e.getMetrics().getBatchTokens()).isEqualTo(40));
    }

    @Test
    void attentionCausalEmitsPerChunkTheMeanOfAFullCausalForwardOverThePrefix() {
        // 3 tokens per stored K/V block with the test model: every chunk touches several blocks.
        fixture(Map.of("attention.mode", "causal", "attention.kv-block-bytes", "768"));
        final int[] seq = tokens(19, 3);
        final int[] cuts = {0, 4, 5, 12, 19};
        for (int i = 0; i + 1 < cuts.length; i++) {
            fx.send(chunk("c", i, Arrays.copyOfRange(seq, cuts[i], cuts[i + 1]), i + 2 == cuts.length));
            if (i == 2) {
                fx.settleAttention();
                // 12 tokens in blocks of 3: a header and 4 blocks, which rebuild the same cache.
                final var store = fx.attentionDriver.<String, byte[]>getKeyValueStore(
                        dev.seqembed.processor.AttentionCausal.STORE);
                final dev.seqembed.model.KvCache held = dev.seqembed.state.KvCacheStore.load(store, "c");
                assertThat(held.length()).isEqualTo(12);
                final dev.seqembed.model.KvCache direct = models.attention().newCache();
                models.attention().appendCausal(direct, Arrays.copyOf(seq, 12), Pooling.MEAN, true);
                final float[][] a = models.attention().hiddenStates(Arrays.copyOf(seq, 12), true);
                assertThat(held.sizeBytes()).isEqualTo(direct.sizeBytes());
                assertThat(a).hasNumberOfRows(12);
            }
        }
        final List<Embedding> out = fx.attentionOut();
        assertThat(out).hasSize(4);
        final BertModel bert = models.attention();
        for (int i = 0; i < out.size(); i++) {
            final Embedding e = out.get(i);
            final int prefix = cuts[i + 1];
            final float[][] hidden = bert.hiddenStates(Arrays.copyOf(seq, prefix), true);
            assertClose(Vectors.toArray(e.getVector()), normalizedMean(hidden), 1e-5f);
            assertThat(e.getIndex()).isEqualTo(i);
            assertThat(e.getStart()).isEqualTo(cuts[i]);
            assertThat(e.getLength()).isEqualTo(cuts[i + 1] - cuts[i]);
            assertThat(e.getFinal$()).isEqualTo(i == 3);
            assertThat(e.getMetrics().getSequenceLength()).isEqualTo(prefix);
            assertThat(e.getMetrics().getCacheHitTokens()).isEqualTo(cuts[i]);
            assertThat(e.getMetrics().getFlops()).isEqualTo(TestModels.BERT.flops(cuts[i + 1] - cuts[i], prefix));
            assertThat(e.getMetrics().getStateBytes()).isPositive();
        }
        try (var all = fx.attentionDriver.<String, byte[]>getKeyValueStore(
                dev.seqembed.processor.AttentionCausal.STORE).all()) {
            assertThat(all.hasNext()).as("KV cache freed after the last chunk").isFalse();
        }
    }

    @Test
    void anEmptyLastChunkClosesACausalSequenceWithThePrefixEmbedding() {
        fixture(Map.of("attention.mode", "causal"));
        final int[] seq = tokens(9, 2);
        fx.send(chunk("m", 0, seq, false));
        fx.send(chunk("m", 1, new int[0], true));
        final List<Embedding> out = fx.attentionOut();
        assertThat(out).hasSize(2);
        assertThat(out.get(1).getFinal$()).isTrue();
        assertThat(out.get(1).getLength()).isZero();
        assertThat(out.get(1).getMetrics().getFlops()).isZero();
        assertThat(out.get(1).getVector()).isEqualTo(out.get(0).getVector());
        assertThat(fx.dlq.isEmpty()).isTrue();
        assertThat(fx.denseOut()).last().satisfies(e -> assertThat(e.getFinal$()).isTrue());
    }

    @Test
    void badRecordsOfEveryKindGoToTheDlqWithTheirOriginalBytesWhileGoodOnesFlow() {
        fixture(Map.of("state.max-bytes-per-sequence", "100"));
        final byte[] garbage = "not avro".getBytes(StandardCharsets.UTF_8);
        fx.send("g", garbage);
        expectDlq("DESERIALIZATION", "g", garbage);
        fx.send(chunk("ok", 0, tokens(5, 1), true));
        fx.send(chunk("empty", 0, new int[0], true));
        expectDlq("EMPTY_SEQUENCE", "empty", null);
        fx.send(chunk("range", 0, new int[] {1, 200, 3}, true));
        expectDlq("TOKEN_OUT_OF_RANGE", "range", null);
        fx.send(chunk("neg", 0, new int[] {-1}, true));
        expectDlq("TOKEN_OUT_OF_RANGE", "neg", null);
        fx.send("other", RecordSerdes.tokenChunk().encode(chunk("mine", 0, tokens(3, 0), true)));
        expectDlq("KEY_MISMATCH", "other", null);
        fx.send(chunk("gap", 1, tokens(3, 0), true));
        expectDlq("CHUNK_OUT_OF_ORDER", "gap", null);
        fx.send(chunk("dup", 0, tokens(3, 0), false));
        fx.send(chunk("dup", 0, tokens(3, 0), false));
        expectDlq("DUPLICATE_CHUNK", "dup", null);
        fx.send(chunk("dup", 1, tokens(2, 0), true));
        fx.send(chunk("dup", 2, tokens(2, 0), true));
        expectDlq("CHUNK_AFTER_LAST", "dup", null);
        fx.send(chunk("long", 0, tokens(65, 0), true));
        expectDlq("SEQUENCE_TOO_LONG", "long", null);
        fx.send(chunk("long", 1, tokens(1, 0), true));
        expectDlq("SEQUENCE_TOO_LONG", "long", null);
        fx.send(chunk("big", 0, tokens(30, 0), true)); // 30 tokens buffered = 125 bytes > 100
        expectDlq("STATE_LIMIT", "big", null);
        assertThat(fx.dlq.isEmpty()).isTrue();
        // The good sequences came through both paths: "ok" and "dup" (5 tokens = 2 windows each... by count).
        final List<Embedding> attention = fx.attentionOut();
        assertThat(attention).extracting(Embedding::getSequenceId).containsExactly("ok", "dup");
        assertThat(fx.denseOut()).extracting(Embedding::getSequenceId).containsOnly("ok", "dup");
        assertThat(fx.telemetry.registry().find("seqembed.dlq").tag("reason", "TOKEN_OUT_OF_RANGE").counter().count())
                .isEqualTo(2.0);
    }

    @Test
    void aSequenceRejectedPartWayFreesItsStateDownstream() {
        fixture(Map.of());
        fx.send(chunk("x", 0, tokens(40, 0), false));
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE).get("x")).isNotNull();
        fx.send(chunk("x", 1, tokens(40, 0), true)); // 80 > 64 positions
        expectDlq("SEQUENCE_TOO_LONG", "x", null);
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE).get("x")).isNull();
        assertThat(fx.driver.getKeyValueStore(WindowAssembler.STORE).get("x")).isNull();
        assertThat(fx.attentionOut()).isEmpty();
    }

    @Test
    void truncationKeepsTheFirstPositionsInsteadOfRejecting() {
        fixture(Map.of("attention.overflow", "truncate"));
        final int[] seq = tokens(70, 0);
        fx.send(chunk("t", 0, seq, true));
        assertThat(fx.dlq.isEmpty()).isTrue();
        final Embedding e = fx.attentionOut().get(0);
        assertThat(e.getLength()).isEqualTo(64);
        assertClose(Vectors.toArray(e.getVector()),
                models.attention().encode(Arrays.copyOf(seq, 64), Pooling.MEAN, true), 1e-6f);
        assertThat(fx.denseOut()).hasSize(34); // the dense path has no position limit
    }

    @Test
    void idleSequencesAreEvictedAndCounted() {
        fixture(Map.of("state.idle-timeout", "10000"));
        fx.send(chunk("idle", 0, tokens(6, 0), false));
        assertThat(fx.driver.getKeyValueStore(ChunkValidator.STORE).get("idle")).isNotNull();
        fx.advance(Duration.ofSeconds(5));
        assertThat(fx.driver.getKeyValueStore(ChunkValidator.STORE).get("idle")).isNotNull();
        fx.advance(Duration.ofSeconds(8));
        assertThat(fx.driver.getKeyValueStore(ChunkValidator.STORE).get("idle")).isNull();
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE).get("idle")).isNull();
        assertThat(fx.driver.getKeyValueStore(WindowAssembler.STORE).get("idle")).isNull();
        assertThat(fx.telemetry.registry().find("seqembed.sequences.evicted").counter().count()).isEqualTo(1.0);
        // The rest of an evicted sequence is out of order: its beginning is gone.
        fx.send(chunk("idle", 1, tokens(2, 0), true));
        expectDlq("CHUNK_OUT_OF_ORDER", "idle", null);
    }

    private void expectDlq(final String reason, final String key, final byte[] value) {
        final TestRecord<byte[], byte[]> r = fx.dlq.readRecord();
        assertThat(header(r, DeadLetter.HEADER_REASON)).isEqualTo(reason);
        assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(key);
        if (value != null) {
            assertThat(r.value()).isEqualTo(value);
        } else {
            assertThat(r.value()).isNotEmpty();
        }
        assertThat(header(r, DeadLetter.HEADER_MESSAGE)).isNotBlank();
        assertThat(header(r, DeadLetter.HEADER_TOPIC)).isEqualTo("tokens");
        assertThat(header(r, DeadLetter.HEADER_PARTITION)).isEqualTo("0");
        assertThat(Long.parseLong(header(r, DeadLetter.HEADER_OFFSET))).isNotNegative();
    }


    private void sendInChunks(final String id, final int[] seq, final int chunkSize) {
        final int step = chunkSize == 0 ? seq.length : chunkSize;
        for (int from = 0, i = 0; from < seq.length; from += step, i++) {
            fx.send(chunk(id, i, Arrays.copyOfRange(seq, from, Math.min(seq.length, from + step)),
                    from + step >= seq.length));
        }
    }

    private static float[] normalizedMean(final float[][] hidden) {
        final float[] mean = new float[hidden[0].length];
        for (final float[] row : hidden) {
            for (int j = 0; j < mean.length; j++) {
                mean[j] += row[j] / hidden.length;
            }
        }
        double norm = 0;
        for (final float v : mean) {
            norm += v * v;
        }
        for (int j = 0; j < mean.length; j++) {
            mean[j] /= (float) Math.max(Math.sqrt(norm), 1e-12);
        }
        return mean;
    }

    private static void assertClose(final float[] got, final float[] want, final float tol) {
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("element %d", i).isCloseTo(want[i], within(tol));
        }
    }
}
