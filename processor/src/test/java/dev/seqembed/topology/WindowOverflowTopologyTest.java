package dev.seqembed.topology;

import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.seqembed.avro.Embedding;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.engine.Vectors;
import dev.seqembed.model.Pooling;
import dev.seqembed.processor.AttentionEncoder;
import dev.seqembed.processor.DeadLetter;
import dev.seqembed.state.TokenBuffer;
import dev.seqembed.testing.TestModels;

/**
 * {@code attention.overflow=window} (SPEC §10.3) through both real topologies with the small test models
 * (P = 64 positions): windows of exactly P tokens, each encoded alone from position 0, and no length rejection on
 * either path.
 */
class WindowOverflowTopologyTest extends TopologyTestBase {

    private static final int P = TestModels.BERT.maxPositionEmbeddings();


    /** Sends a sequence in chunks of 10 and returns its attention embeddings. */
    private List<Embedding> send(final String id, final int[] seq) {
        for (final var c : new SequenceInput(id, seq).toChunks(10)) {
            fx.send(c);
        }
        return fx.attentionOut();
    }

    /** Expected starts, written out by hand for P = 64. */
    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {63, 64, 65, 161})
    void windowsOfExactlyPTokensEachEncodedAloneWithTheDefaultStride(final int n) {
        fx = new TopologyFixture(models, stateDir, Map.of("attention.overflow", "window"));
        final int[] seq = tokens(n, 3);
        final List<Embedding> out = send("w", seq);
        // stride P/2 = 32; n = 2P + stride + 1 = 161: K = 1 + ceil(97 / 32) = 5, the last from 161 - 64 = 97
        final int[] starts = switch (n) {
            case 63, 64 -> new int[] {0};
            case 65 -> new int[] {0, 1};
            default -> new int[] {0, 32, 64, 96, 97};
        };
        assertThat(out).extracting(Embedding::getIndex).containsExactlyElementsOf(
                java.util.stream.IntStream.range(0, starts.length).boxed().toList());
        assertThat(out).extracting(Embedding::getStart).containsExactlyElementsOf(
                Arrays.stream(starts).boxed().toList());
        for (int k = 0; k < out.size(); k++) {
            final Embedding e = out.get(k);
            final int length = Math.min(n, P);
            assertThat(e.getLength()).isEqualTo(length);
            assertThat(e.getFinal$()).isEqualTo(k == out.size() - 1);
            assertThat(e.getMetrics().getSequenceLength()).isEqualTo(n);
            assertThat(e.getMetrics().getBatchTokens()).isEqualTo(e.getMetrics().getBatchSize() * length);
            assertThat(e.getMetrics().getFlops()).isEqualTo(models.attention().config().flops(length, length));
            assertThat(e.getMetrics().getStateBytes()).isEqualTo(TokenBuffer.sizeBytes(n));
            // Each window alone, from position 0: exactly the model's encoding of those tokens.
            final float[] want = models.attention().encode(Arrays.copyOfRange(seq, e.getStart(),
                    e.getStart() + length), Pooling.MEAN, true);
            final float[] got = Vectors.toArray(e.getVector());
            for (int i = 0; i < want.length; i++) {
                assertThat(got[i]).as("window %d [%d]", k, i).isCloseTo(want[i], within(1e-5f));
            }
        }
        assertThat(fx.dlq.isEmpty()).isTrue();
        assertThat(fx.denseOut()).isNotEmpty().last().satisfies(e -> assertThat(e.getFinal$()).isTrue());
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE).get("w")).isNull();
    }

    @Test
    void aConfiguredStrideIsUsed() {
        fx = new TopologyFixture(models, stateDir, Map.of("attention.overflow", "window",
                "attention.window-stride", "50"));
        // n = 2P + stride + 1 = 179: K = 1 + ceil(115 / 50) = 4: 0, 50, 100 and 179 - 64 = 115
        assertThat(send("s", tokens(179, 0))).extracting(Embedding::getStart).containsExactly(0, 50, 100, 115);
    }

    @Test
    void theDensePathDoesNotRejectLongSequencesEitherAndTheBufferIsStillBoundedByStateLimit() {
        // the limit is the buffer of 249 tokens: 249 pass, 300 do not (rejected on reaching 250)
        fx = new TopologyFixture(models, stateDir, Map.of("attention.overflow", "window",
                "state.max-bytes-per-sequence", String.valueOf(TokenBuffer.sizeBytes(249))));
        final List<Embedding> ok = send("ok", tokens(249, 0));
        assertThat(ok).hasSize(1 + (249 - P + 31) / 32).last().satisfies(e -> assertThat(e.getFinal$()).isTrue());
        assertThat(fx.denseOut()).extracting(Embedding::getSequenceId).containsOnly("ok")
                .hasSize(1 + (249 - 4 + 1) / 2);
        assertThat(send("big", tokens(300, 0))).isEmpty();
        final TestRecord<byte[], byte[]> dl = fx.dlq.readRecord();
        assertThat(new String(dl.headers().lastHeader(DeadLetter.HEADER_REASON).value(), StandardCharsets.UTF_8))
                .isEqualTo("STATE_LIMIT");
        assertThat(new String(dl.key(), StandardCharsets.UTF_8)).isEqualTo("big");
        // rejected part-way: its buffer was freed, and its dense windows never reached a final one
        assertThat(fx.attentionDriver.getKeyValueStore(AttentionEncoder.STORE).get("big")).isNull();
        assertThat(fx.denseOut()).noneMatch(Embedding::getFinal$);
    }

    @Test
    void rejectStillRejectsAndTruncateStillTruncates() {
        fx = new TopologyFixture(models, stateDir, Map.of("attention.overflow", "reject"));
        assertThat(send("r", tokens(P + 1, 0))).isEmpty();
        assertThat(new String(fx.dlq.readRecord().headers().lastHeader(DeadLetter.HEADER_REASON).value(),
                StandardCharsets.UTF_8)).isEqualTo("SEQUENCE_TOO_LONG");
        fx.close();
        fx = new TopologyFixture(models, stateDir.resolve("t"), Map.of("attention.overflow", "truncate"));
        assertThat(send("t", tokens(P + 1, 0))).singleElement()
                .satisfies(e -> assertThat(e.getLength()).isEqualTo(P));
    }
}
