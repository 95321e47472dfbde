package dev.seqembed.model;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The fork-join of a forward: splits independent work (row ranges of element-wise steps, GEMM tiles, attention
 * heads) over the model threads. The caller runs the first part itself; {@code n - 1} daemon workers run the
 * others. Several stream threads may share the workers (their parts queue). Why not a ForkJoinPool: parts are
 * few and coarse (2-4 per step), and a fixed pool keeps the threads' per-thread {@link Workspace}s warm.
 */
final class RowParallel {

    /** A range of rows to process. */
    @FunctionalInterface
    interface Rows {
        void run(int from, int to);
    }

    /** Below this many elements per part, a hand-off (a thread wake-up, ~10-50 us) costs more than it saves. */
    private static final long MIN_ELEMENTS_PER_PART = 16_384;

    private final int threads;
    private final ExecutorService workers;

    /** @param threads parts to split into at most (1 = everything on the calling thread) */
    RowParallel(final int threads) {
        this.threads = Math.max(1, threads);
        this.workers = this.threads == 1 ? null : Executors.newFixedThreadPool(this.threads - 1, r -> {
            final Thread t = new Thread(r, "seqembed-rows");
            t.setDaemon(true);
            return t;
        });
    }

    /** The most parts any call splits into. */
    int threads() {
        return threads;
    }

    /** Runs {@code body} over rows [0, rows) of a matrix with {@code cols} columns, split in parts. */
    void forRows(final int rows, final int cols, final Rows body) {
        final int parts = (int) Math.min(Math.min(threads, rows), (long) rows * cols / MIN_ELEMENTS_PER_PART);
        forParts(rows, parts, body);
    }

    /**
     * Runs {@code body} over [0, items) split in {@code parts} near-equal ranges (at most {@link #threads()}),
     * the first on the calling thread; returns when all are done, rethrowing the first failure.
     */
    void forParts(final int items, final int requested, final Rows body) {
        final int parts = Math.min(Math.min(threads, items), requested);
        if (parts <= 1) {
            body.run(0, items);
            return;
        }
        final Future<?>[] others = new Future<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            final int from = (int) ((long) items * p / parts);
            final int to = (int) ((long) items * (p + 1) / parts);
            others[p - 1] = workers.submit(() -> body.run(from, to));
        }
        RuntimeException failure = null;
        try {
            body.run(0, items / parts);
        } catch (final RuntimeException e) {
            failure = e;
        }
        for (final Future<?> f : others) {
            try {
                f.get();
            } catch (final ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a row part", e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
