package dev.seqembed.processor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;

import dev.seqembed.avro.Embedding;
import dev.seqembed.state.PendingChunk;
import dev.seqembed.state.StateEntries;

class WaitingChunksTest {

    private final MockProcessorContext<String, Embedding> ctx =
            new MockProcessorContext<>(ChunkValidatorTest.mockProperties());
    private final KeyValueStore<byte[], byte[]> store = MockStores.bytes(ctx, "waiting", Serdes.ByteArray());
    private final StateEntries<byte[], PendingChunk> entries = new StateEntries<>(store, PendingChunk.SERDE);

    private WaitingChunks fresh(final UnreadableEntries unreadable, final List<String> closed) {
        return new WaitingChunks(entries, unreadable, closed::add, 1_000);
    }

    private static List<String> names(final List<WaitingChunks.Waiting> chunks) {
        return chunks.stream().map(w -> w.sequenceId() + ":" + new String(w.chunk().value())).toList();
    }

    @Test
    void chunksComeOutInArrivalOrderAndLeaveTheStoreEmpty() {
        final WaitingChunks w = fresh(new UnreadableEntries(), new ArrayList<>());
        assertThat(w.isEmpty()).isTrue();
        w.add("a", "a0".getBytes(), 5, 1L, null, 1_000);
        w.add("b", "b0".getBytes(), 3, 2L, null, 1_004);
        w.add("a", "a1".getBytes(), 0, 3L, null, 1_008);
        w.add("a", "a2".getBytes(), 4, 4L, null, 1_009);
        w.add("c", "c0".getBytes(), 2, 5L, null, 1_009);
        assertThat(w.tokens()).isEqualTo(5 + 3 + 1 + 4 + 2); // an empty chunk counts as one
        assertThat(w.due(1_009, 10)).isFalse();
        assertThat(w.due(1_010, 10)).isTrue(); // the oldest arrived at 1,000

        assertThat(names(w.takeAll())).containsExactly("a:a0", "b:b0", "a:a1", "a:a2", "c:c0");
        assertThat(w.isEmpty()).isTrue();
        assertThat(w.tokens()).isZero();
        assertThat(store.approximateNumEntries()).isZero();
        assertThat(w.takeAll()).isEmpty();
    }

    @Test
    void aRestartContinuesTheNumberingAndClosesTheSequenceOfAnUnreadableEntry() {
        final WaitingChunks before = fresh(new UnreadableEntries(), new ArrayList<>());
        before.add("a", "a0".getBytes(), 5, 1L, null, 1_000);
        before.add("b", "b0".getBytes(), 3, 2L, null, 1_000);
        // Corrupt b's entry as a bad changelog record would restore it.
        try (var all = store.all()) {
            while (all.hasNext()) {
                final var kv = all.next();
                if (kv.key[kv.key.length - 1] == 'b') {
                    store.put(kv.key, new byte[] {9, 9});
                }
            }
        }

        final UnreadableEntries unreadable = new UnreadableEntries();
        final List<String> closed = new ArrayList<>();
        final WaitingChunks after = fresh(unreadable, closed);
        assertThat(after.tokens()).isEqualTo(5);
        unreadable.settle(ctx, "dead-letters", 0);
        assertThat(closed).containsExactly("b");
        assertThat(ctx.forwarded()).hasSize(1);
        after.add("a", "a1".getBytes(), 2, 3L, null, 2_000);
        assertThat(names(after.takeAll())).containsExactly("a:a0", "a:a1");
    }
}
