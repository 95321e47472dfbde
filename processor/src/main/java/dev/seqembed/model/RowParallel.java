package dev.seqembed.model;

import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The fork-join of a forward: splits independent work (row ranges of element-wise steps, GEMM tiles, attention
 * heads) over the model threads. The caller runs the first part itself; worker k runs part k + 1.
 *
 * <p>Why not an executor: a forward makes ~50 splits of 0.1-2 ms each, and a parked thread takes 10-50 us to
 * wake up, on both sides of every hand-off. So workers and the waiting caller spin briefly
 * ({@link #SPIN_NANOS}) before they park, as ONNX Runtime's pool does; between forwards they sleep. Several
 * stream threads may share one instance: whoever finds the workers busy runs its parts alone rather than
 * queueing behind another forward (there are no idle cores to give it then anyway).
 */
final class RowParallel {

    /** A range of rows to process. */
    @FunctionalInterface
    interface Rows {
        void run(int from, int to);
    }

    /** Below this many elements per part, a hand-off costs more than it saves. */
    private static final long MIN_ELEMENTS_PER_PART = 16_384;
    /** Rows per block of {@link #forRowBlocks}: 64 KB, well inside a core's L2 next to the weights being packed. */
    static final int BLOCK_FLOATS = 16_384;
    /** How long a worker waits for its next part, and the caller for the workers, before parking. */
    private static final long SPIN_NANOS = 100_000;

    private final int threads;
    private final Worker[] workers;
    private final ReentrantLock busy = new ReentrantLock();

    /** @param threads parts to split into at most (1 = everything on the calling thread) */
    RowParallel(final int threads) {
        this.threads = Math.max(1, threads);
        this.workers = new Worker[this.threads - 1];
        for (int k = 0; k < workers.length; k++) {
            workers[k] = new Worker("seqembed-model-" + (k + 1));
        }
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
     * As {@link #forRows}, each part handing {@code body} its rows in blocks of about {@link #BLOCK_FLOATS} floats:
     * a body that makes several passes over its rows (copy in, compute, copy out) then finds them in the core's L2
     * cache instead of streaming a part larger than it (8 x 128 tokens x 1536 is 3 MB per part) from L3 three times.
     */
    void forRowBlocks(final int rows, final int cols, final Rows body) {
        final int block = Math.max(1, BLOCK_FLOATS / cols);
        forRows(rows, cols, (from, to) -> {
            for (int r = from; r < to; r += block) {
                body.run(r, Math.min(to, r + block));
            }
        });
    }

    /**
     * Runs {@code body} over [0, items) split in {@code parts} near-equal ranges (at most {@link #threads()}),
     * the first on the calling thread; returns when all are done, rethrowing the first failure.
     */
    void forParts(final int items, final int requested, final Rows body) {
        final int parts = Math.min(Math.min(threads, items), requested);
        if (parts <= 1 || !busy.tryLock()) {
            body.run(0, items);
            return;
        }
        try {
            for (int p = 1; p < parts; p++) {
                workers[p - 1].post(body, (int) ((long) items * p / parts), (int) ((long) items * (p + 1) / parts));
            }
            Throwable failure = null;
            try {
                body.run(0, items / parts);
            } catch (final RuntimeException | Error e) {
                failure = e;
            }
            for (int p = 1; p < parts; p++) {
                final Throwable f = workers[p - 1].awaitDone();
                if (failure == null) {
                    failure = f;
                }
            }
            if (failure instanceof RuntimeException r) {
                throw r;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
        } finally {
            busy.unlock();
        }
    }

    /** One daemon thread running the parts posted to it, one at a time. */
    private static final class Worker implements Runnable {
        private final Thread thread;
        /** The posted part; from/to are written before it and read after it (volatile publication). */
        private volatile Rows body;
        private int from;
        private int to;
        private volatile boolean done = true;
        private volatile Throwable failure;
        private volatile Thread waiter;

        Worker(final String name) {
            thread = new Thread(this, name);
            thread.setDaemon(true);
            thread.start();
        }

        void post(final Rows part, final int partFrom, final int partTo) {
            from = partFrom;
            to = partTo;
            failure = null;
            done = false;
            body = part;
            LockSupport.unpark(thread);
        }

        /** Waits for the posted part; returns its failure, or null. */
        Throwable awaitDone() {
            final long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (!done && System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            }
            if (!done) {
                waiter = Thread.currentThread();
                while (!done) { // re-checked after publishing the waiter: the worker unparks it after setting done
                    LockSupport.park(this);
                }
                waiter = null;
            }
            return failure;
        }

        @Override
        public void run() {
            while (true) {
                final Rows part = awaitPart();
                try {
                    part.run(from, to);
                } catch (final Throwable t) { // handed to the caller, which rethrows it
                    failure = t;
                }
                body = null;
                done = true;
                final Thread w = waiter;
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }

        private Rows awaitPart() {
            final long spinUntil = System.nanoTime() + SPIN_NANOS;
            Rows part;
            while ((part = body) == null && System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            }
            while ((part = body) == null) {
                LockSupport.park(this);
            }
            return part;
        }
    }
}
