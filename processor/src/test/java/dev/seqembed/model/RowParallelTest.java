package dev.seqembed.model;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RowParallelTest {

    @Test
    void everyRowIsProcessedExactlyOnceWhateverTheSplit() {
        for (final int threads : new int[] {1, 2, 3}) {
            final RowParallel rows = new RowParallel(threads);
            for (final int n : new int[] {1, 2, 7, 128, 1001}) {
                final AtomicIntegerArray seen = new AtomicIntegerArray(n);
                rows.forRows(n, 1536, (from, to) -> {
                    for (int r = from; r < to; r++) {
                        seen.incrementAndGet(r);
                    }
                });
                for (int r = 0; r < n; r++) {
                    assertThat(seen.get(r)).as("threads %d, rows %d, row %d", threads, n, r).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void smallWorkStaysOnTheCallingThread() {
        final Thread caller = Thread.currentThread();
        new RowParallel(2).forRows(4, 100, (from, to) -> assertThat(Thread.currentThread()).isSameAs(caller));
    }

    @Test
    void aFailingPartFailsTheCall() {
        final RowParallel rows = new RowParallel(2);
        assertThatThrownBy(() -> rows.forRows(1000, 1000, (from, to) -> {
            if (from > 0) {
                throw new IllegalStateException("part from " + from);
            }
        })).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("part from");
    }
}
