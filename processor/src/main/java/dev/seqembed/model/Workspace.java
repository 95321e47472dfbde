package dev.seqembed.model;

import org.bytedeco.javacpp.FloatPointer;

/**
 * Per-thread scratch of the model forwards: native buffers for the gemm operands and Java arrays for the
 * element-wise work, grown on demand and reused, so a forward allocates (almost) nothing. Models are shared
 * by stream threads; each thread has its own workspace, so nothing mutable is shared. Slots are named by
 * what they hold; a slot is reused only where its previous contents are dead.
 */
final class Workspace {
    // native slots
    static final int N_INPUT = 0;
    static final int N_QKV = 1;
    static final int N_SCORES = 2;
    static final int N_CONTEXT = 3;
    static final int N_INTERMEDIATE = 4;
    static final int N_OUTPUT = 5;
    static final int N_CACHED_KV = 6;
    // Java array slots
    static final int SCORES = 0;
    static final int INTERMEDIATE = 1;
    static final int PROJECTED = 2;
    static final int ATTENDED = 3;
    static final int QKV_ROWS = 5;
    static final int HIDDEN = 6;

    private static final ThreadLocal<Workspace> LOCAL = ThreadLocal.withInitial(Workspace::new);

    private final FloatPointer[] natives = new FloatPointer[8];
    private final float[][] arrays = new float[8][];

    /** The element-wise kernels' temporaries. */
    final Kernels.Scratch kernels = new Kernels.Scratch();

    private Workspace() {
    }

    static Workspace get() {
        return LOCAL.get();
    }

    /** Native buffer {@code slot} with room for at least n floats (contents undefined). */
    FloatPointer nat(final int slot, final long n) {
        FloatPointer p = natives[slot];
        if (p == null || p.capacity() < n) {
            if (p != null) {
                p.close();
            }
            p = new FloatPointer(Math.max(n, p == null ? 0 : p.capacity() + p.capacity() / 2));
            natives[slot] = p;
        }
        return p;
    }

    /** Java array {@code slot} with at least n floats (contents undefined). */
    float[] arr(final int slot, final int n) {
        float[] a = arrays[slot];
        if (a == null || a.length < n) {
            a = new float[Math.max(n, a == null ? 0 : a.length + a.length / 2)];
            arrays[slot] = a;
        }
        return a;
    }
}
