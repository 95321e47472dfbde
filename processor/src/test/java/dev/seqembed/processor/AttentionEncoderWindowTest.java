package dev.seqembed.processor;

import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Vectors;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.state.StateEntries;
import dev.seqembed.state.TokenBuffer;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The encoder processor alone under {@code attention.overflow=window}: P = 64, stride 24. */
class AttentionEncoderWindowTest {

    private static final int P = TestModels.BERT.maxPositionEmbeddings();
    private static final int STRIDE = 24;

    @TempDir
    static Path modelDir;

    private static Models models;
    private static BertModel model;

    private StateEntries<String, TokenBuffer> store;
    private MockProcessorContext<String, Embedding> context;
    private AttentionEncoder encoder;

    @BeforeAll
    static void loadModel() throws Exception {
        models = TestModels.write(modelDir);
        model = models.attention();
    }

    @BeforeEach
    void start() {
        context = new MockProcessorContext<>(ChunkValidatorTest.mockProperties());
        context.setCurrentSystemTimeMs(1_000L);
        store = new StateEntries<>(MockStores.bytes(context, AttentionEncoder.STORE, Serdes.String()),
                TokenBuffer.SERDE);
        MockStores.bytes(context, AttentionEncoder.READY_STORE, Serdes.ByteArray());
        start(new AttentionBatching(1, 0));
    }

    /** A processor on the store; maxTokens 1 = every window its own forward. */
    private void start(final AttentionBatching batching) {
        final AttentionEngine.Factory engines = clock -> new AttentionEngine(model, Pooling.MEAN, true, clock);
        encoder = (AttentionEncoder) AttentionEncoder.supplier(engines, models.live(), P, STRIDE, batching,
                new Telemetry(new SimpleMeterRegistry())).get();
        encoder.init(context);
    }

    private void process(final TokenChunk c) {
        encoder.process(new Record<>(c.getSequenceId(), c, 1_000L));
    }

    @Test
    void buffersPastThePositionsThenEmitsEveryWindowOnLast() {
        final int[] seq = tokens(130, 2);
        process(chunk("d", 0, Arrays.copyOfRange(seq, 0, 100), false));
        assertThat(context.forwarded()).isEmpty();
        assertThat(store.get("d").tokens()).as("kept whole, not truncated to P").containsExactly(
                Arrays.copyOfRange(seq, 0, 100));
        process(chunk("d", 1, Arrays.copyOfRange(seq, 100, 130), true));
        assertThat(store.get("d")).isNull();
        final List<Embedding> out = context.forwarded().stream().map(f -> (Embedding) f.record().value()).toList();
        // K = 1 + ceil((130 - 64) / 24) = 4: starts 0, 24, 48 and 130 - 64 = 66
        assertThat(out).extracting(Embedding::getStart).containsExactly(0, 24, 48, 66);
        assertThat(out).extracting(Embedding::getIndex).containsExactly(0, 1, 2, 3);
        assertThat(out).extracting(Embedding::getFinal$).containsExactly(false, false, false, true);
        assertThat(context.forwarded()).allSatisfy(f -> assertThat(f.record().key()).isEqualTo("d"));
        for (final Embedding e : out) {
            assertThat(e.getMetrics().getBatchSize()).isEqualTo(1);
            assertThat(Vectors.toArray(e.getVector())).containsExactly(
                    model.encode(Arrays.copyOfRange(seq, e.getStart(), e.getStart() + P), Pooling.MEAN, true));
        }
    }

    @Test
    void windowsGoIntoPackedForwardsOfAtMostTheTokenBudget() {
        start(new AttentionBatching(200, 0)); // 3 windows of 64 tokens per forward
        // 210 tokens >= 200: the batch flushes at once. K = 1 + ceil(146 / 24) = 8: 0, 24, …, 144 and 146
        final int[] seq = tokens(210, 4);
        process(chunk("d", 0, seq, true));
        final List<Embedding> out = context.forwarded().stream().map(f -> (Embedding) f.record().value()).toList();
        assertThat(out).extracting(Embedding::getStart).containsExactly(0, 24, 48, 72, 96, 120, 144, 146);
        assertThat(out).extracting(e -> e.getMetrics().getBatchSize()).containsExactly(3, 3, 3, 3, 3, 3, 2, 2);
        assertThat(out).extracting(e -> e.getMetrics().getBatchTokens())
                .containsExactly(192, 192, 192, 192, 192, 192, 128, 128);
        assertThat(out).extracting(Embedding::getFinal$).containsExactly(false, false, false, false, false, false,
                false, true);
        for (final Embedding e : out) {
            final float[] want = model.encode(Arrays.copyOfRange(seq, e.getStart(), e.getStart() + P), Pooling.MEAN,
                    true);
            final float[] got = Vectors.toArray(e.getVector());
            for (int i = 0; i < want.length; i++) {
                assertThat(got[i]).isCloseTo(want[i], org.assertj.core.api.Assertions.within(1e-5f));
            }
        }
    }

    @Test
    void aSequenceThatFitsIsOneEmbeddingAsBefore() {
        final int[] seq = tokens(P, 0);
        process(chunk("s", 0, seq, true));
        assertThat(context.forwarded()).singleElement().satisfies(f -> {
            final Embedding e = f.record().value();
            assertThat(e.getIndex()).isZero();
            assertThat(e.getStart()).isZero();
            assertThat(e.getLength()).isEqualTo(P);
            assertThat(e.getFinal$()).isTrue();
            assertThat(Vectors.toArray(e.getVector())).containsExactly(model.encode(seq, Pooling.MEAN, true));
        });
    }
}
