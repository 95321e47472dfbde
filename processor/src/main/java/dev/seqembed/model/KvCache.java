package dev.seqembed.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The causal-mode state of one sequence: every layer's keys and values for the tokens seen so far,
 * plus the pooling state (sum of the final hidden states and the first token's final hidden state),
 * so a new chunk costs attention against the cache instead of a recompute of the prefix.
 *
 * <p>Binary form ({@link #toBytes()}), little-endian: int magic {@code "SEKV"}, int version 1, int layers,
 * int hidden, int length; then per layer K [length*hidden] and V [length*hidden] floats; then the
 * pooled sum [hidden] and the first-token state [hidden] floats. No Java serialization.
 *
 * <p>A cache remembers the SHA-256 of the model that built it ({@link #modelSha256()}, SPEC §10.5): keys and
 * values are only meaningful to that model. The block form's header carries it (header version 2); the whole
 * form ({@link #toBytes()}) does not.
 *
 * <p>Not thread-safe: one cache belongs to one sequence, which one stream thread processes at a time.
 */
public final class KvCache {
    /** "SEKV" as a little-endian int. */
    static final int MAGIC = 0x564B4553;
    static final int VERSION = 1;
    static final int HEADER_BYTES = 20;
    /** Version of the block form's header: 2 adds the model's SHA-256 (32 raw bytes) after the length. */
    static final int HEADER_VERSION = 2;
    static final int SHA256_BYTES = 32;

    private final int layers;
    private final int hidden;
    private int length;
    private final float[][] keys;
    private final float[][] values;
    private final float[] sum;
    private final float[] first;
    private final String modelSha256;

    KvCache(final int layers, final int hidden) {
        this(layers, hidden, null);
    }

    KvCache(final int layers, final int hidden, final String modelSha256) {
        if (layers <= 0 || hidden <= 0) {
            throw new IllegalArgumentException("layers and hidden must be > 0, got " + layers + ", " + hidden);
        }
        this.layers = layers;
        this.hidden = hidden;
        this.keys = new float[layers][0];
        this.values = new float[layers][0];
        this.sum = new float[hidden];
        this.first = new float[hidden];
        this.modelSha256 = modelSha256;
    }

    /** Hex SHA-256 of the model that built this cache; null when unknown (a header written before version 2). */
    public String modelSha256() {
        return modelSha256;
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
        return sizeBytes(layers, hidden, length);
    }

    /** Size of {@link #toBytes()} of a cache of {@code length} tokens: float32 K and V per layer, pooled state. */
    public static long sizeBytes(final int layers, final int hidden, final long length) {
        return HEADER_BYTES + 4L * (2L * layers * length * hidden + 2L * hidden);
    }

    /** An independent copy. */
    public KvCache copy() {
        final KvCache c = new KvCache(layers, hidden, modelSha256);
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

    // ---- block form: what a state store keeps, so a chunk writes only its own tokens ----

    /** "SEKH" as a little-endian int: the header of the block form. */
    static final int HEADER_MAGIC = 0x484B4553;
    /** "SEKB" as a little-endian int: one block of the block form. */
    static final int BLOCK_MAGIC = 0x424B4553;

    /**
     * The small part of the cache that changes with every chunk: length, model and pooling state. Little-endian:
     * int magic {@code "SEKH"}, int version (2), int layers, int hidden, int length, the model's SHA-256 as 32
     * raw bytes (zeros when unknown), then sum [hidden] and first-token state [hidden] floats. Version 1 had
     * no SHA-256; it is still read, with an unknown model.
     */
    public byte[] headerBytes() {
        final ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES + SHA256_BYTES + 8 * hidden)
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(HEADER_MAGIC).putInt(HEADER_VERSION).putInt(layers).putInt(hidden).putInt(length);
        buf.put(modelSha256 == null ? new byte[SHA256_BYTES] : HexFormat.of().parseHex(modelSha256));
        buf.asFloatBuffer().put(sum).put(first);
        return buf.array();
    }

    /**
     * Keys and values of every layer for tokens [from, to). Little-endian: int magic {@code "SEKB"}, int version,
     * int from, int count, then per layer K [count*hidden] and V [count*hidden] floats.
     */
    public byte[] blockBytes(final int from, final int to) {
        if (from < 0 || to > length || from > to) {
            throw new IllegalArgumentException("block [" + from + ", " + to + ") outside [0, " + length + ")");
        }
        final int n = (to - from) * hidden;
        final ByteBuffer buf = ByteBuffer.allocate(16 + 8 * layers * n).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(BLOCK_MAGIC).putInt(VERSION).putInt(from).putInt(to - from);
        for (int l = 0; l < layers; l++) {
            buf.asFloatBuffer().put(keys[l], from * hidden, n);
            buf.position(buf.position() + 4 * n);
            buf.asFloatBuffer().put(values[l], from * hidden, n);
            buf.position(buf.position() + 4 * n);
        }
        return buf.array();
    }

    /** The model SHA-256 a {@link #headerBytes()} names; null for an unknown model or a version-1 header. */
    public static String headerModelSha256(final byte[] header) {
        final ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        if (header.length < HEADER_BYTES + SHA256_BYTES || h.getInt() != HEADER_MAGIC
                || h.getInt() != HEADER_VERSION) {
            return null;
        }
        final byte[] sha = Arrays.copyOfRange(header, HEADER_BYTES, HEADER_BYTES + SHA256_BYTES);
        return Arrays.equals(sha, new byte[SHA256_BYTES]) ? null : HexFormat.of().formatHex(sha);
    }

    /**
     * Rebuilds a cache from {@link #headerBytes()} and the {@link #blockBytes} covering [0, length) in order.
     * Gaps, overlaps, a wrong total or corrupt bytes give an IllegalArgumentException.
     */
    public static KvCache fromParts(final byte[] header, final java.util.List<byte[]> blocks) {
        if (header == null || header.length < HEADER_BYTES) {
            throw new IllegalArgumentException("KV cache header too short");
        }
        final ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        final int magic = h.getInt();
        final int version = h.getInt();
        if (magic != HEADER_MAGIC || (version != 1 && version != HEADER_VERSION)) {
            throw new IllegalArgumentException("not a KV cache header of version 1 or " + HEADER_VERSION);
        }
        final int layers = h.getInt();
        final int hidden = h.getInt();
        final int length = h.getInt();
        final int shaBytes = version == 1 ? 0 : SHA256_BYTES;
        if (layers <= 0 || hidden <= 0 || length < 0 || header.length != HEADER_BYTES + shaBytes + 8L * hidden) {
            throw new IllegalArgumentException("corrupt KV cache header: layers " + layers + ", hidden " + hidden
                    + ", length " + length + ", " + header.length + " bytes");
        }
        h.position(h.position() + shaBytes);
        final KvCache c = new KvCache(layers, hidden, headerModelSha256(header));
        h.asFloatBuffer().get(c.sum).get(c.first);
        for (int l = 0; l < layers; l++) {
            c.keys[l] = new float[length * hidden];
            c.values[l] = new float[length * hidden];
        }
        int next = 0;
        for (final byte[] block : blocks) {
            final ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
            if (block.length < 16 || b.getInt() != BLOCK_MAGIC || b.getInt() != VERSION) {
                throw new IllegalArgumentException("not a KV cache block of version " + VERSION);
            }
            final int from = b.getInt();
            final int count = b.getInt();
            if (from != next || count < 0 || from + count > length
                    || block.length != 16 + 8L * layers * count * hidden) {
                throw new IllegalArgumentException("KV cache block [" + from + ", " + (from + count)
                        + ") does not continue at " + next + " of " + length);
            }
            final int n = count * hidden;
            for (int l = 0; l < layers; l++) {
                b.asFloatBuffer().get(c.keys[l], from * hidden, n);
                b.position(b.position() + 4 * n);
                b.asFloatBuffer().get(c.values[l], from * hidden, n);
                b.position(b.position() + 4 * n);
            }
            next = from + count;
        }
        if (next != length) {
            throw new IllegalArgumentException("KV cache blocks cover " + next + " of " + length + " tokens");
        }
        c.length = length;
        return c;
    }
}
