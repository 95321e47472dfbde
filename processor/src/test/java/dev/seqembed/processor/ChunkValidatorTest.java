package dev.seqembed.processor;

import static dev.seqembed.testing.Chunks.chunk;
import static dev.seqembed.testing.Chunks.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.ErrorCode;
import dev.seqembed.engine.ValidationRules;
import dev.seqembed.metrics.Telemetry;
import dev.seqembed.state.SequenceProgress;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The validator alone, on a MockProcessorContext with a real in-memory store (SPEC §3 dead letters, §7). */
class ChunkValidatorTest {

    private static final int VOCAB = 200;
    private static final int MAX_TOKENS = 10;
    private static final long IDLE_MS = 60_000;

    private final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry());
    private MockProcessorContext<String, SequenceEvent> context;
    private KeyValueStore<String, SequenceProgress> store;
    private ChunkValidator validator;
    private long offset = 100;

    /** Vocabulary 200, at most 10 tokens, state = n*100 bytes (the STATE_LIMIT rule is given per test). */
    private void start(final long maxStateBytes) {
        final ValidationRules rules = new ValidationRules(VOCAB, MAX_TOKENS, n -> n * 100, maxStateBytes, IDLE_MS);
        context = new MockProcessorContext<>(mockProperties());
        context.setCurrentSystemTimeMs(1_000);
        store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(ChunkValidator.STORE), Serdes.String(),
                SequenceProgress.SERDE).withLoggingDisabled().build();
        store.init(context.getStateStoreContext(), store);
        context.addStateStore(store);
        validator = new ChunkValidator(rules, telemetry);
        validator.init(context);
    }

    private void start() {
        start(Long.MAX_VALUE);
    }

    /** What the no-argument MockProcessorContext sets, without its per-store warning about the global handler. */
    static java.util.Properties mockProperties() {
        final java.util.Properties p = new java.util.Properties();
        p.put("application.id", "seqembed-test");
        p.put("bootstrap.servers", "unused:9092");
        p.put("processing.exception.handler.global.enabled", "true");
        return p;
    }

    private static byte[] bytes(final TokenChunk c) {
        return dev.seqembed.serde.RecordSerdes.tokenChunk().encode(c);
    }

    private static byte[] utf8(final String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    /** Sends a record with fresh metadata (topic tokens, partition 3, increasing offsets) and returns its forwards. */
    private List<Record<? extends String, ? extends SequenceEvent>> send(final byte[] key, final byte[] value) {
        context.resetForwards();
        context.setRecordMetadata("tokens", 3, offset++);
        validator.process(new Record<>(key, value, 5_000L));
        final List<Record<? extends String, ? extends SequenceEvent>> out = new ArrayList<>();
        context.forwarded().forEach(f -> out.add(f.record()));
        return out;
    }

    private List<Record<? extends String, ? extends SequenceEvent>> send(final TokenChunk c) {
        return send(utf8(c.getSequenceId()), bytes(c));
    }

    private static void assertChunk(final List<Record<? extends String, ? extends SequenceEvent>> out,
                                    final TokenChunk sent) {
        assertThat(out).hasSize(1);
        final Record<? extends String, ? extends SequenceEvent> r = out.get(0);
        assertThat(r.key()).isEqualTo(sent.getSequenceId());
        assertThat(r.value().kind()).isEqualTo(SequenceEvent.Kind.CHUNK);
        assertThat(r.value().sequenceId()).isEqualTo(sent.getSequenceId());
        assertThat(r.value().chunk()).isEqualTo(sent);
        assertThat(r.value().deadLetter()).isNull();
    }

    /** Asserts a REJECT carrying the original bytes and the record's metadata; returns it. */
    private DeadLetter assertReject(final Record<? extends String, ? extends SequenceEvent> r, final ErrorCode code,
                                    final byte[] key, final byte[] value) {
        assertThat(r.key()).isNull();
        assertThat(r.value().kind()).isEqualTo(SequenceEvent.Kind.REJECT);
        assertThat(r.value().chunk()).isNull();
        final DeadLetter dl = r.value().deadLetter();
        assertThat(dl.reason()).isEqualTo(code);
        assertThat(dl.key()).isEqualTo(key);
        assertThat(dl.value()).isEqualTo(value);
        assertThat(dl.topic()).isEqualTo("tokens");
        assertThat(dl.partition()).isEqualTo(3);
        assertThat(dl.offset()).isEqualTo(offset - 1);
        assertThat(dl.message()).isNotBlank();
        return dl;
    }

    @Test
    void validChunksAreForwardedInOrderAndProgressIsStored() {
        start();
        final TokenChunk c0 = chunk("s", 0, tokens(4, 0), false);
        final TokenChunk c1 = chunk("s", 1, tokens(3, 4), true);
        assertChunk(send(c0), c0);
        assertThat(store.get("s")).isEqualTo(new SequenceProgress(1, 4, false, "", 1_000));
        context.setCurrentSystemTimeMs(2_000);
        assertChunk(send(c1), c1);
        assertThat(store.get("s")).isEqualTo(new SequenceProgress(2, 7, true, "", 2_000));
    }

    @Test
    void anEmptyLastChunkMayCloseANonEmptySequence() {
        start();
        send(chunk("s", 0, tokens(3, 0), false));
        final TokenChunk end = chunk("s", 1, new int[0], true);
        assertChunk(send(end), end);
        assertThat(store.get("s").closed()).isTrue();
    }

    /**
     * Every reject kind of SPEC §7: the last record of each scenario is dead-lettered with its own bytes.
     * MODEL_CHANGED is the causal attention processor's, not the validator's (ModelSwapTopologyTest).
     */
    @ParameterizedTest
    // Not the validator's: MODEL_CHANGED and PROCESSING_ERROR come from the processors after validation.
    @EnumSource(value = ErrorCode.class, mode = EnumSource.Mode.EXCLUDE, names = {"MODEL_CHANGED", "PROCESSING_ERROR"})
    void eachRejectKindIsForwardedAsADeadLetterWithOriginalBytesAndMetadata(final ErrorCode code) {
        start(code == ErrorCode.STATE_LIMIT ? 500 : Long.MAX_VALUE);
        final String id = "seq-" + code;
        byte[] key = utf8(id);
        final byte[] value;
        switch (code) {
            case DESERIALIZATION -> value = new byte[] {1, 2, 3, 4, 5};
            case EMPTY_SEQUENCE -> value = bytes(chunk(id, 0, new int[0], true));
            case TOKEN_OUT_OF_RANGE -> value = bytes(chunk(id, 0, new int[] {1, VOCAB, 2}, true));
            case SEQUENCE_TOO_LONG -> value = bytes(chunk(id, 0, tokens(MAX_TOKENS + 1, 0), true));
            case CHUNK_OUT_OF_ORDER -> value = bytes(chunk(id, 1, tokens(2, 0), false));
            case DUPLICATE_CHUNK -> {
                assertThat(send(chunk(id, 0, tokens(2, 0), false))).hasSize(1);
                value = bytes(chunk(id, 0, tokens(2, 0), false));
            }
            case CHUNK_AFTER_LAST -> {
                assertThat(send(chunk(id, 0, tokens(2, 0), true))).hasSize(1);
                value = bytes(chunk(id, 1, tokens(2, 0), true));
            }
            case KEY_MISMATCH -> {
                key = utf8("another-key");
                value = bytes(chunk(id, 0, tokens(2, 0), true));
            }
            case STATE_LIMIT -> value = bytes(chunk(id, 0, tokens(6, 0), true)); // 600 bytes > 500
            default -> throw new AssertionError("no scenario for " + code + ": add one");
        }
        final SequenceProgress before = store.get(id);
        final List<Record<? extends String, ? extends SequenceEvent>> out = send(key, value);
        assertThat(out).as("a first-chunk reject has nothing downstream to abort").hasSize(1);
        assertReject(out.get(0), code, key, value);
        if (code != ErrorCode.SEQUENCE_TOO_LONG && code != ErrorCode.STATE_LIMIT) {
            assertThat(store.get(id)).as("a content reject leaves the sequence as it was").isEqualTo(before);
        }
    }

    @Test
    void aNullKeyIsAKeyMismatchAndKeepsTheNullKey() {
        start();
        final byte[] value = bytes(chunk("s", 0, tokens(2, 0), true));
        final List<Record<? extends String, ? extends SequenceEvent>> out = send(null, value);
        assertThat(out).hasSize(1);
        assertReject(out.get(0), ErrorCode.KEY_MISMATCH, null, value);
    }

    @Test
    void aSequenceRejectedPartWayIsAbortedAndStaysClosed() {
        start();
        send(chunk("s", 0, tokens(6, 0), false));
        final byte[] tooLong = bytes(chunk("s", 1, tokens(5, 6), false)); // 11 > 10
        final List<Record<? extends String, ? extends SequenceEvent>> out = send(utf8("s"), tooLong);
        assertThat(out).hasSize(2);
        assertReject(out.get(0), ErrorCode.SEQUENCE_TOO_LONG, utf8("s"), tooLong);
        assertThat(out.get(1).key()).isEqualTo("s");
        assertThat(out.get(1).value()).isEqualTo(SequenceEvent.abort("s"));
        assertThat(store.get("s").closed()).isTrue();
        assertThat(store.get("s").rejectedReason()).isEqualTo("SEQUENCE_TOO_LONG");

        // Later chunks (even a shorter resend of chunk 1) are rejected with the same reason, without a second ABORT.
        final byte[] resend = bytes(chunk("s", 1, tokens(1, 6), true));
        final List<Record<? extends String, ? extends SequenceEvent>> again = send(utf8("s"), resend);
        assertThat(again).hasSize(1);
        assertReject(again.get(0), ErrorCode.SEQUENCE_TOO_LONG, utf8("s"), resend);
        final byte[] next = bytes(chunk("s", 2, tokens(1, 6), true));
        final List<Record<? extends String, ? extends SequenceEvent>> later = send(utf8("s"), next);
        assertThat(later).hasSize(1);
        assertReject(later.get(0), ErrorCode.SEQUENCE_TOO_LONG, utf8("s"), next);
    }

    @Test
    void aStateLimitPartWayAlsoAborts() {
        start(500);
        send(chunk("s", 0, tokens(3, 0), false)); // 300 bytes
        final byte[] over = bytes(chunk("s", 1, tokens(3, 3), false)); // 600 bytes
        final List<Record<? extends String, ? extends SequenceEvent>> out = send(utf8("s"), over);
        assertThat(out).hasSize(2);
        assertReject(out.get(0), ErrorCode.STATE_LIMIT, utf8("s"), over);
        assertThat(out.get(1).value()).isEqualTo(SequenceEvent.abort("s"));
    }

    @Test
    void aContentRejectPartWayDoesNotAbort() {
        start();
        send(chunk("s", 0, tokens(3, 0), false));
        final List<Record<? extends String, ? extends SequenceEvent>> out =
                send(chunk("s", 1, new int[] {-1}, false));
        assertThat(out).hasSize(1);
        assertThat(out.get(0).value().kind()).isEqualTo(SequenceEvent.Kind.REJECT);
        assertThat(store.get("s").closed()).isFalse();
    }

    @Test
    void aChunkRejectedForTokenOutOfRangeCanBeResentCorrectedWithTheSameIndex() {
        start();
        final TokenChunk c0 = chunk("s", 0, tokens(3, 0), false);
        assertChunk(send(c0), c0);
        final byte[] bad = bytes(chunk("s", 1, new int[] {5, VOCAB + 7}, true));
        final List<Record<? extends String, ? extends SequenceEvent>> rejected = send(utf8("s"), bad);
        assertThat(rejected).hasSize(1);
        final DeadLetter dl = assertReject(rejected.get(0), ErrorCode.TOKEN_OUT_OF_RANGE, utf8("s"), bad);
        assertThat(dl.message()).contains("s").contains(String.valueOf(VOCAB + 7));
        assertThat(store.get("s")).isEqualTo(new SequenceProgress(1, 3, false, "", 1_000));

        final TokenChunk fixed = chunk("s", 1, new int[] {5, 6}, true);
        assertChunk(send(fixed), fixed);
        assertThat(store.get("s")).isEqualTo(new SequenceProgress(2, 5, true, "", 1_000));
    }

    @Test
    void aFirstChunkRejectedForContentCanBeResentCorrected() {
        start();
        send(chunk("s", 0, new int[] {VOCAB}, false));
        assertThat(store.get("s")).isNull();
        final TokenChunk fixed = chunk("s", 0, new int[] {1}, true);
        assertChunk(send(fixed), fixed);
    }

    @Test
    void idleEvictionAbortsOpenSequencesAndDeletesAllIdleOnes() {
        start();
        assertThat(context.scheduledPunctuators()).hasSize(1);
        final MockProcessorContext.CapturedPunctuator p = context.scheduledPunctuators().get(0);
        assertThat(p.getType()).isEqualTo(PunctuationType.WALL_CLOCK_TIME);
        assertThat(p.getInterval().toMillis()).isEqualTo(IDLE_MS / 4);

        context.setCurrentSystemTimeMs(1_000);
        send(chunk("open", 0, tokens(3, 0), false));
        send(chunk("done", 0, tokens(3, 0), true));
        context.setCurrentSystemTimeMs(50_000);
        send(chunk("fresh", 0, tokens(3, 0), false));

        context.resetForwards();
        p.getPunctuator().punctuate(1_000 + IDLE_MS - 1);
        assertThat(context.forwarded()).as("nothing is idle long enough yet").isEmpty();
        assertThat(store.get("open")).isNotNull();

        p.getPunctuator().punctuate(1_000 + IDLE_MS);
        assertThat(context.forwarded()).hasSize(1);
        final Record<? extends String, ? extends SequenceEvent> abort = context.forwarded().get(0).record();
        assertThat(abort.key()).isEqualTo("open");
        assertThat(abort.value()).isEqualTo(SequenceEvent.abort("open"));
        assertThat(abort.timestamp()).isEqualTo(1_000 + IDLE_MS);
        assertThat(store.get("open")).isNull();
        assertThat(store.get("done")).as("finished sequences are dropped silently").isNull();
        assertThat(store.get("fresh")).isNotNull();
        assertThat(telemetry.registry().get("seqembed.sequences.evicted").counter().count()).isEqualTo(1.0);

        // The evicted sequence is forgotten: its next chunk is out of order.
        final byte[] late = bytes(chunk("open", 1, tokens(2, 3), true));
        final List<Record<? extends String, ? extends SequenceEvent>> out = send(utf8("open"), late);
        assertThat(out).hasSize(1);
        assertReject(out.get(0), ErrorCode.CHUNK_OUT_OF_ORDER, utf8("open"), late);
    }
}
