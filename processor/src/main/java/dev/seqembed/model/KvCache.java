package dev.seqembed.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The causal-mode state of one sequence: every layer's keys and values for the tokens seen so far,
 * plus the pooling state (sum of the final hidden states and the first token's final hidden state),
 * so a new chunk costs attention against the cache instead of a recompute of the prefix.
 *
 * <p>Binary form ({@link #toBytes()}), little-endian: int magic {@code "SEKV"}, int version 1, int layers,
 * int hidden, int length; then per layer K [length*hidden] and V [length*hidden] floats; then the
 * pooled sum [hidden] and the first-token state [hidden] floats. No Java serialization.
 *
 * <p>Not thread-safe: one cache belongs to one sequence, which one stream thread processes at a time.
 */
public final class KvCache {
    /** "SEKV" as a little-endian int. */
    static final int MAGIC = 0x564B4553;
    static final int VERSION = 1;
    static final int HEADER_BYTES = 20;

    private final int layers;
    private final int hidden;
    private int length;
    private final float[][] keys;
    private final float[][] values;
    private final float[] sum;
    private final float[] first;

    KvCache(final int layers, final int hidden) {
        if (layers <= 0 || hidden <= 0) {
            throw new IllegalArgumentException("layers and hidden must be > 0, got " + layers + ", " + hidden);
        }
        this.layers = layers;
        this.hidden = hidden;
        this.keys = new float[layers][0];
        this.values = new float[layers][0];
        this.sum = new float[hidden];
        this.first = new float[hidden];
    }

    /** Tokens cached so far, which is also the position of the next token. */
    public int length() {
        return length;
    }

    /** Number of layers this cache was made for. */
    public int layers() {
        return layers;
    }

    /** Hidden size this cache was made for. */
    public int hidden() {
        return hidden;
    }

    /** Size of {@link #toBytes()}. */
    public long sizeBytes() {
        return HEADER_BYTES + 4L * (2L * layers * length * hidden + 2L * hidden);
    }

    /** An independent copy. */
    public KvCache copy() {
        final KvCache c = new KvCache(layers, hidden);
        c.length = length;
        for (int l = 0; l < layers; l++) {
            c.keys[l] = Arrays.copyOf(keys[l], length * hidden);
            c.values[l] = Arrays.copyOf(values[l], length * hidden);
        }
        System.arraycopy(sum, 0, c.sum, 0, hidden);
        System.arraycopy(first, 0, c.first, 0, hidden);
        return c;
    }

    /** The compact little-endian binary form (see class comment). */
    public byte[] toBytes() {
        final long size = sizeBytes();
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("KV cache too large to serialise: " + size + " bytes");
        }
        final ByteBuffer buf = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(MAGIC).putInt(VERSION).putInt(layers).putInt(hidden).putInt(length);
        final int n = length * hidden;
        for (int l = 0; l < layers; l++) {
            buf.asFloatBuffer().put(keys[l], 0, n);
            buf.position(buf.position() + 4 * n);
            buf.asFloatBuffer().put(values[l], 0, n);
            buf.position(buf.position() + 4 * n);
        }
        buf.asFloatBuffer().put(sum).put(first);
        return buf.array();
    }

    /** Parses {@link #toBytes()} output; a corrupt or truncated input gives an IllegalArgumentException. */
    public static KvCache fromBytes(final byte[] bytes) {
        if (bytes == null || bytes.length < HEADER_BYTES) {
            throw new IllegalArgumentException("KV cache bytes too short: " + (bytes == null ? "null" : bytes.length));
        }
        final ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        final int magic = buf.getInt();
        if (magic != MAGIC) {
            throw new IllegalArgumentException("not a KV cache: bad magic 0x" + Integer.toHexString(magic));
        }
        final int version = buf.getInt();
        if (version != VERSION) {
            throw new IllegalArgumentException("unsupported KV cache version " + version + " (expected " + VERSION + ")");
        }
        final int layers = buf.getInt();
        final int hidden = buf.getInt();
        final int length = buf.getInt();
        if (layers <= 0 || hidden <= 0 || length < 0) {
            throw new IllegalArgumentException("corrupt KV cache header: layers " + layers + ", hidden " + hidden
                    + ", length " + length);
        }
        final long expected = HEADER_BYTES + 4L * (2L * layers * length * hidden + 2L * hidden);
        if (expected != bytes.length) {
            throw new IllegalArgumentException("corrupt KV cache: header (layers " + layers + ", hidden " + hidden
                    + ", length " + length + ") needs " + expected + " bytes, got " + bytes.length);
        }
        final KvCache c = new KvCache(layers, hidden);
        c.length = length;
        final int n = length * hidden;
        for (int l = 0; l < layers; l++) {
            c.keys[l] = new float[n];
            c.values[l] = new float[n];
            buf.asFloatBuffer().get(c.keys[l]);
            buf.position(buf.position() + 4 * n);
            buf.asFloatBuffer().get(c.values[l]);
            buf.position(buf.position() + 4 * n);
        }
        buf.asFloatBuffer().get(c.sum).get(c.first);
        return c;
    }

    // ---- package-private access for BertModel ----

    /** Stages a layer's new keys/values after the committed ones; invisible until {@link #commit}. */
    void stage(final int layer, final float[] newKeys, final float[] newValues, final int added) {
        final int need = (length + added) * hidden;
        if (keys[layer].length < need) {
            final int cap = Math.max(need, keys[layer].length + keys[layer].length / 2);
            keys[layer] = Arrays.copyOf(keys[layer], cap);
            values[layer] = Arrays.copyOf(values[layer], cap);
        }
        System.arraycopy(newKeys, 0, keys[layer], length * hidden, added * hidden);
        System.arraycopy(newValues, 0, values[layer], length * hidden, added * hidden);
    }

    /** Committed plus staged keys of a layer: the first (length + staged) * hidden floats are valid. */
    float[] keys(final int layer) {
        return keys[layer];
    }

    float[] values(final int layer) {
        return values[layer];
    }

    float[] pooledSum() {
        return sum;
    }

    float[] firstToken() {
        return first;
    }

    /** Makes {@code added} staged tokens visible and folds the chunk's final states into the pooling state. */
    void commit(final int added, final double[] chunkSum, final float[] chunkFirst) {
        for (int i = 0; i < hidden; i++) {
            sum[i] = (float) (sum[i] + chunkSum[i]);
        }
        if (length == 0 && added > 0) {
            System.arraycopy(chunkFirst, 0, first, 0, hidden);
        }
        length += added;
    }
}
