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
    void rowBlocksCoverEveryRowOnceInBlocksThatFitTheBlockSize() {
        final RowParallel rows = new RowParallel(2);
        for (final int cols : new int[] {384, 1536, 20_000}) {
            final int n = 1024;
            final AtomicIntegerArray seen = new AtomicIntegerArray(n);
            final java.util.concurrent.atomic.AtomicInteger largest = new java.util.concurrent.atomic.AtomicInteger();
            rows.forRowBlocks(n, cols, (from, to) -> {
                largest.accumulateAndGet(to - from, Math::max);
                for (int r = from; r < to; r++) {
                    seen.incrementAndGet(r);
                }
            });
            for (int r = 0; r < n; r++) {
                assertThat(seen.get(r)).as("cols %d, row %d", cols, r).isEqualTo(1);
            }
            // a block holds at most BLOCK_FLOATS floats, or one row when a row alone is larger
            assertThat(largest.get()).isEqualTo(Math.max(1, RowParallel.BLOCK_FLOATS / cols));
        }
    }

    @Test
    void partsCoverEveryItemOnceAndNeverExceedTheThreads() {
        final RowParallel rows = new RowParallel(3);
        for (final int requested : new int[] {1, 2, 3, 8}) {
            final AtomicIntegerArray seen = new AtomicIntegerArray(12);
            final java.util.concurrent.atomic.AtomicInteger parts = new java.util.concurrent.atomic.AtomicInteger();
            rows.forParts(12, requested, (from, to) -> {
                parts.incrementAndGet();
                for (int i = from; i < to; i++) {
                    seen.incrementAndGet(i);
                }
            });
            assertThat(parts.get()).isEqualTo(Math.min(requested, 3));
            for (int i = 0; i < 12; i++) {
                assertThat(seen.get(i)).isEqualTo(1);
            }
        }
    }

    @Test
    void concurrentCallersEachGetEveryItemOnce() throws Exception {
        // stream threads share the model threads: a caller that finds them busy runs its parts itself
        final RowParallel rows = new RowParallel(2);
        final int callers = 4;
        final AtomicIntegerArray[] seen = new AtomicIntegerArray[callers];
        final Thread[] threads = new Thread[callers];
        final java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        for (int c = 0; c < callers; c++) {
            final AtomicIntegerArray mine = seen[c] = new AtomicIntegerArray(64);
            threads[c] = new Thread(() -> {
                for (int round = 0; round < 500; round++) {
                    rows.forParts(64, 2, (from, to) -> {
                        for (int i = from; i < to; i++) {
                            mine.incrementAndGet(i);
                        }
                    });
                }
            });
            threads[c].setUncaughtExceptionHandler((t, e) -> failure.set(e));
            threads[c].start();
        }
        for (final Thread t : threads) {
            t.join();
        }
        assertThat(failure.get()).isNull();
        for (final AtomicIntegerArray mine : seen) {
            for (int i = 0; i < 64; i++) {
                assertThat(mine.get(i)).isEqualTo(500);
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
