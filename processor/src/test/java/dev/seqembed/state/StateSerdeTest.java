package dev.seqembed.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.seqembed.avro.WindowRecord;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.processor.AttentionCausal;
import dev.seqembed.testing.Chunks;
import dev.seqembed.testing.TestModels;

/** The versioned state formats of the changelogged stores. */
class StateSerdeTest {

    private static final String TOPIC = "seqembed-some-store-changelog";

    @TempDir
    static Path modelDir;

    private static BertModel bert;

    @BeforeAll
    static void loadModel() throws Exception {
        bert = TestModels.write(modelDir).attention();
    }

    private static <T> byte[] write(final Serde<T> serde, final T value) {
        return serde.serializer().serialize(TOPIC, value);
    }

    private static <T> T roundTrip(final Serde<T> serde, final T value) {
        return serde.deserializer().deserialize(TOPIC, write(serde, value));
    }

    @Test
    void sequenceProgressRoundTrips() {
        for (final SequenceProgress p : List.of(
                new SequenceProgress(0, 0, false, "", 0),
                new SequenceProgress(7, 4096, true, "", 1_767_225_600_123L),
                new SequenceProgress(3, 513, true, "SEQUENCE_TOO_LONG", Long.MAX_VALUE),
                new SequenceProgress(Integer.MAX_VALUE, Integer.MAX_VALUE, true, "STATE_LIMIT", -1))) {
            assertThat(roundTrip(SequenceProgress.SERDE, p)).isEqualTo(p);
        }
        assertThat(roundTrip(SequenceProgress.SERDE, new SequenceProgress(1, 1, true, "STATE_LIMIT", 5)).rejected())
                .isTrue();
    }

    @Test
    void windowBufferRoundTripsAndItsSizeIsItsStoredSize() {
        for (final WindowBuffer w : List.of(WindowBuffer.EMPTY, new WindowBuffer(12, 96, Chunks.tokens(37, 5)),
                new WindowBuffer(1, 2, new int[] {0, -1, 30521, Integer.MAX_VALUE}))) {
            final byte[] bytes = write(WindowBuffer.SERDE, w);
            final WindowBuffer back = WindowBuffer.SERDE.deserializer().deserialize(TOPIC, bytes);
            assertThat(back.nextWindowIndex()).isEqualTo(w.nextWindowIndex());
            assertThat(back.bufferStart()).isEqualTo(w.bufferStart());
            assertThat(back.tokens()).containsExactly(w.tokens());
            assertThat(w.sizeBytes()).isEqualTo(bytes.length);
        }
    }

    @Test
    void tokenBufferRoundTripsAndItsSizeIsItsStoredSize() {
        for (final int[] tokens : List.of(new int[0], new int[] {101}, Chunks.tokens(512, 3))) {
            final byte[] bytes = write(TokenBuffer.SERDE, new TokenBuffer(tokens, bert.sha256()));
            final TokenBuffer back = TokenBuffer.SERDE.deserializer().deserialize(TOPIC, bytes);
            assertThat(back.tokens()).containsExactly(tokens);
            assertThat(back.modelSha256()).isEqualTo(bert.sha256());
            assertThat(TokenBuffer.sizeBytes(tokens.length)).isEqualTo(bytes.length);
        }
        assertThat(roundTrip(TokenBuffer.SERDE, new TokenBuffer(new int[] {1, 2})).modelSha256()).isNull();
    }

    @Test
    void aTokenBufferOfTheEarlierFormatWithoutAModelIsStillReadWithAnUnknownModel() {
        // Format 1 as the previous release wrote it: version byte, int count, ints; no model.
        final ByteBuffer v1 = ByteBuffer.allocate(1 + 4 + 8).order(ByteOrder.LITTLE_ENDIAN);
        v1.put((byte) 1).putInt(2).putInt(101).putInt(7);
        final TokenBuffer back = TokenBuffer.SERDE.deserializer().deserialize(TOPIC, v1.array());
        assertThat(back.tokens()).containsExactly(101, 7);
        assertThat(back.modelSha256()).isNull();
    }

    @Test
    void aReadySequenceRoundTripsWithItsModelAndTheEarlierFormatIsReadWithAnUnknownModel() {
        final ReadySequence r = roundTrip(ReadySequence.SERDE,
                new ReadySequence("séquence", new int[] {101, 7, 102}, 1_767_225_600_042L, bert.sha256()));
        assertThat(r.sequenceId()).isEqualTo("séquence");
        assertThat(r.tokens()).containsExactly(101, 7, 102);
        assertThat(r.timestampMs()).isEqualTo(1_767_225_600_042L);
        assertThat(r.modelSha256()).isEqualTo(bert.sha256());
        // Format 1: version byte, long timestamp, int id length, id, int count, ints; no model.
        final ByteBuffer v1 = ByteBuffer.allocate(1 + 8 + 4 + 1 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN);
        v1.put((byte) 1).putLong(5).putInt(1).put((byte) 's').putInt(1).putInt(9);
        final ReadySequence old = ReadySequence.SERDE.deserializer().deserialize(TOPIC, v1.array());
        assertThat(old.sequenceId()).isEqualTo("s");
        assertThat(old.tokens()).containsExactly(9);
        assertThat(old.timestampMs()).isEqualTo(5);
        assertThat(old.modelSha256()).isNull();
    }

    @Test
    void aPendingCausalChunkRoundTripsWithItsSourceOrWithoutOne() {
        final byte[] value = {(byte) 0xC3, 1, 9, 8, 7};
        final PendingChunk p = roundTrip(PendingChunk.SERDE, new PendingChunk(value, 3, 1_767_225_600_042L,
                "seqembed-attention-chunks", 2, 12_345L));
        assertThat(p.value()).containsExactly(value);
        assertThat(p.tokens()).isEqualTo(3);
        assertThat(p.timestampMs()).isEqualTo(1_767_225_600_042L);
        assertThat(p.topic()).isEqualTo("seqembed-attention-chunks");
        assertThat(p.partition()).isEqualTo(2);
        assertThat(p.offset()).isEqualTo(12_345L);
        final PendingChunk unknown = roundTrip(PendingChunk.SERDE, new PendingChunk(value, 0, 1L, null, -1, -1L));
        assertThat(unknown.topic()).isNull();
        assertThat(unknown.partition()).isEqualTo(-1);
    }

    @Test
    void aKvCacheHeaderNamesTheModelThatBuiltIt() {
        final KvCache cache = bert.newCache();
        bert.appendCausal(cache, Chunks.tokens(3, 0), Pooling.MEAN, true);
        final KvCache back = KvCache.fromParts(cache.headerBytes(), List.of(cache.blockBytes(0, 3)));
        assertThat(back.modelSha256()).isEqualTo(bert.sha256());
        assertThat(cache.copy().modelSha256()).isEqualTo(bert.sha256());
    }

    @Test
    void aKvCacheHeaderOfTheEarlierVersionIsReadWithAnUnknownModel() {
        final KvCache cache = bert.newCache();
        bert.appendCausal(cache, Chunks.tokens(3, 0), Pooling.MEAN, true);
        // Version 1 as the previous release wrote it: the version-2 header without its 32 SHA-256 bytes.
        final byte[] v2 = cache.headerBytes();
        final ByteBuffer v1 = ByteBuffer.allocate(v2.length - 32).order(ByteOrder.LITTLE_ENDIAN);
        v1.put(v2, 0, 20).put(v2, 52, v2.length - 52).putInt(4, 1);
        final KvCache back = KvCache.fromParts(v1.array(), List.of(cache.blockBytes(0, 3)));
        assertThat(back.modelSha256()).isNull();
        assertThat(back.length()).isEqualTo(3);
        assertThat(back.toBytes()).isEqualTo(cache.toBytes());
    }

    @Test
    void bufferedWindowRoundTrips() {
        final WindowRecord w = WindowRecord.newBuilder().setSequenceId("séquence-1").setWindowIndex(3).setStart(24)
                .setTokens(List.of(5, 6, 7, 0)).setValid(3).setFinal$(true).setIngestTimeMs(1_767_225_600_000L)
                .build();
        final BufferedWindow b = new BufferedWindow(w, 1_767_225_600_042L);
        assertThat(roundTrip(BufferedWindow.SERDE, b)).isEqualTo(b);
    }

    @Test
    void kvCacheBlocksRoundTripAndTheRestoredCacheContinuesExactlyLikeTheOriginal() {
        final KvCache cache = bert.newCache();
        bert.appendCausal(cache, Chunks.tokens(5, 0), Pooling.MEAN, true);
        bert.appendCausal(cache, Chunks.tokens(3, 5), Pooling.MEAN, true);
        // Blocks of 3 tokens: [0,3) [3,6) [6,8), as the causal processor stores them.
        final KvCache restored = KvCache.fromParts(cache.headerBytes(),
                List.of(cache.blockBytes(0, 3), cache.blockBytes(3, 6), cache.blockBytes(6, 8)));
        assertThat(restored.length()).isEqualTo(8);
        assertThat(restored.layers()).isEqualTo(TestModels.BERT.numHiddenLayers());
        assertThat(restored.hidden()).isEqualTo(TestModels.BERT.hiddenSize());
        assertThat(restored.toBytes()).isEqualTo(cache.toBytes());

        final int[] next = Chunks.tokens(4, 8);
        final float[] fromOriginal = bert.appendCausal(cache, next, Pooling.MEAN, true);
        final float[] fromRestored = bert.appendCausal(restored, next, Pooling.MEAN, true);
        assertThat(fromRestored).containsExactly(fromOriginal);
        assertThat(restored.toBytes()).isEqualTo(cache.toBytes());
    }

    @Test
    void kvCacheBlocksWithAGapOrAShortfallAreRejected() {
        final KvCache cache = bert.newCache();
        bert.appendCausal(cache, Chunks.tokens(6, 0), Pooling.MEAN, true);
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException().isThrownBy(() -> KvCache.fromParts(
                cache.headerBytes(), List.of(cache.blockBytes(0, 2), cache.blockBytes(3, 6))))
                .withMessageContaining("does not continue at 2");
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException().isThrownBy(() -> KvCache.fromParts(
                cache.headerBytes(), List.of(cache.blockBytes(0, 4))))
                .withMessageContaining("cover 4 of 6");
    }

    @Test
    void anEmptyKvCacheRoundTrips() {
        final KvCache empty = bert.newCache();
        final KvCache back = KvCache.fromParts(empty.headerBytes(), List.of());
        assertThat(back.length()).isZero();
        assertThat(back.toBytes()).isEqualTo(empty.toBytes());
    }

    @Test
    void aCountPastTheBytesOrBytesPastTheValueAreSerializationExceptions() {
        // A corrupt token count: a decoding error, not an attempt to allocate 8 GB.
        final byte[] huge = new byte[1 + 12];
        huge[0] = 1;
        ByteBuffer.wrap(huge, 1, 12).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(0).putInt(2_000_000_000);
        assertThatThrownBy(() -> WindowBuffer.SERDE.deserializer().deserialize(TOPIC, huge))
                .isInstanceOf(SerializationException.class).hasMessageContaining("counts 2000000000 element(s)");
        final byte[] longer = Arrays.copyOf(write(WindowBuffer.SERDE, new WindowBuffer(1, 2, new int[] {3})), 18);
        assertThatThrownBy(() -> WindowBuffer.SERDE.deserializer().deserialize(TOPIC, longer))
                .isInstanceOf(SerializationException.class).hasMessageContaining("1 byte(s) past its format-1 value");
    }

    static List<Serde<?>> serdes() {
        return List.of(SequenceProgress.SERDE, WindowBuffer.SERDE, TokenBuffer.SERDE, BufferedWindow.SERDE);
    }

    private static byte[] sample(final Serde<?> serde) {
        if (serde == SequenceProgress.SERDE) {
            return write(SequenceProgress.SERDE, new SequenceProgress(1, 2, false, "", 3));
        } else if (serde == WindowBuffer.SERDE) {
            return write(WindowBuffer.SERDE, new WindowBuffer(1, 2, new int[] {3}));
        } else if (serde == TokenBuffer.SERDE) {
            return write(TokenBuffer.SERDE, new TokenBuffer(new int[] {3}));
        }
        return write(BufferedWindow.SERDE, new BufferedWindow(WindowRecord.newBuilder().setSequenceId("s")
                    .setWindowIndex(0).setStart(0).setTokens(List.of(1)).setValid(1).setFinal$(true)
                    .setIngestTimeMs(0).build(), 0));
    }

    @ParameterizedTest
    @MethodSource("serdes")
    void aWrongFormatVersionIsASerializationExceptionNamingBothVersions(final Serde<?> serde) {
        final byte[] bytes = sample(serde);
        // TokenBuffer is at format 2 since it names its model (SPEC §10.5); the others at 1.
        final int version = serde == TokenBuffer.SERDE ? 2 : 1;
        assertThat(bytes[0]).as("format version byte").isEqualTo((byte) version);
        final byte[] future = Arrays.copyOf(bytes, bytes.length);
        future[0] = (byte) (version + 1);
        assertThatThrownBy(() -> serde.deserializer().deserialize(TOPIC, future))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining(TOPIC)
                .hasMessageContaining("format " + (version + 1))
                .hasMessageContaining("format " + version);
        assertThatThrownBy(() -> serde.deserializer().deserialize(TOPIC, new byte[0]))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("none")
                .hasMessageContaining("format " + version);
    }

    @ParameterizedTest
    @MethodSource("serdes")
    @SuppressWarnings({"unchecked", "rawtypes"})
    void nullStaysNull(final Serde serde) {
        assertThat(serde.serializer().serialize(TOPIC, null)).isNull();
        assertThat(serde.deserializer().deserialize(TOPIC, null)).isNull();
    }
}
