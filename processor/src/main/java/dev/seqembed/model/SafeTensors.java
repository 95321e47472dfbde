package dev.seqembed.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Minimal reader and writer of the <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * format (no Java library exists): an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}}} with an optional {@code __metadata__} string
 * map, then the raw little-endian tensor bytes. F32 is read as is; F16 and BF16 are widened to float32
 * exactly; a tensor of any other dtype is listed but not decoded, and asking for it ({@link #get}) fails
 * with a message naming the tensor and its dtype (model loaders turn that into a {@link ModelLoadException}).
 * Files are limited to 2 GiB (one Java array).
 */
public final class SafeTensors {

    /** Storage types this class reads and writes. */
    public enum DType {
        F32(4), F16(2), BF16(2);

        private final int bytes;

        DType(final int bytes) {
            this.bytes = bytes;
        }

        /** Bytes per element. */
        public int bytes() {
            return bytes;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Header size limit: real headers are kilobytes; this rejects garbage before allocating. */
    private static final long MAX_HEADER = 100L * 1024 * 1024;

    private final Map<String, Tensor> tensors;
    private final Map<String, DType> dtypes;
    private final Map<String, String> metadata;
    /** Tensors of dtypes we do not convert (I64, F64, ...): name to dtype. */
    private final Map<String, String> unsupported;
    private final Set<String> names;
    private final String source;

    private SafeTensors(final Map<String, Tensor> tensors, final Map<String, DType> dtypes,
                        final Map<String, String> metadata, final Map<String, String> unsupported,
                        final String source) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.dtypes = Collections.unmodifiableMap(dtypes);
        this.metadata = Collections.unmodifiableMap(metadata);
        this.unsupported = Collections.unmodifiableMap(unsupported);
        final Set<String> all = new java.util.LinkedHashSet<>(tensors.keySet());
        all.addAll(unsupported.keySet());
        this.names = Collections.unmodifiableSet(all);
        this.source = source;
    }

    /** Reads a whole safetensors file into float32 tensors. */
    public static SafeTensors read(final Path file) throws IOException {
        final byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (final NoSuchFileException e) {
            throw new ModelLoadException("missing file " + file, e);
        }
        return parse(bytes, file.toString());
    }

    /** Parses the bytes of a safetensors file; {@code source} names it in error messages. */
    static SafeTensors parse(final byte[] bytes, final String source) throws ModelLoadException {
        if (bytes.length < 8) {
            throw new ModelLoadException("not a safetensors file (only " + bytes.length + " bytes): " + source);
        }
        final ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        final long headerLen = buf.getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
            throw new ModelLoadException("not a safetensors file (header length " + headerLen + ", file size "
                    + bytes.length + "): " + source);
        }
        final int dataStart = 8 + (int) headerLen;
        final JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8));
        } catch (final JsonProcessingException e) {
            throw new ModelLoadException("bad safetensors JSON header in " + source + ": " + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) {
            throw new ModelLoadException("bad safetensors header in " + source + ": not a JSON object");
        }
        final long dataLen = bytes.length - (long) dataStart;
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        final Map<String, DType> dtypes = new LinkedHashMap<>();
        final Map<String, String> metadata = new LinkedHashMap<>();
        final Map<String, String> unsupported = new LinkedHashMap<>();
        final Iterator<Map.Entry<String, JsonNode>> it = header.properties().iterator();
        while (it.hasNext()) {
            final Map.Entry<String, JsonNode> e = it.next();
            final String name = e.getKey();
            final JsonNode info = e.getValue();
            if ("__metadata__".equals(name)) {
                if (info.isObject()) {
                    info.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                }
                continue;
            }
            final String dtypeName = info.path("dtype").asText("");
            DType dtype = null;
            for (final DType candidate : DType.values()) {
                if (candidate.name().equals(dtypeName)) {
                    dtype = candidate;
                }
            }
            final JsonNode shapeNode = info.path("shape");
            final JsonNode offsets = info.path("data_offsets");
            if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                throw new ModelLoadException("tensor " + name + ": malformed header entry in " + source);
            }
            final int[] shape = new int[shapeNode.size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                final long d = shapeNode.get(i).asLong(-1);
                if (d < 0 || d > Integer.MAX_VALUE) {
                    throw new ModelLoadException("tensor " + name + ": bad dimension " + shapeNode.get(i) + " in " + source);
                }
                shape[i] = (int) d;
                count *= d;
            }
            final long begin = offsets.get(0).asLong(-1);
            final long end = offsets.get(1).asLong(-1);
            if (dtype == null) {
                // Real checkpoints carry tensors we never read (e.g. an I64 embeddings.position_ids buffer):
                // remember the dtype, and fail only if somebody asks for the tensor.
                if (begin < 0 || end < begin || end > dataLen) {
                    throw new ModelLoadException("tensor " + name + ": data_offsets [" + begin + ", " + end
                            + "] outside a data section of " + dataLen + " bytes in " + source);
                }
                unsupported.put(name, dtypeName);
                continue;
            }
            if (begin < 0 || end < begin || end > dataLen || count > Integer.MAX_VALUE
                    || end - begin != count * dtype.bytes()) {
                throw new ModelLoadException("tensor " + name + ": data_offsets [" + begin + ", " + end
                        + "] do not fit shape " + java.util.Arrays.toString(shape) + " of " + dtype
                        + " in a data section of " + dataLen + " bytes in " + source);
            }
            tensors.put(name, new Tensor(shape, decode(buf, dataStart + (int) begin, (int) count, dtype)));
            dtypes.put(name, dtype);
        }
        return new SafeTensors(tensors, dtypes, metadata, unsupported, source);
    }

    private static float[] decode(final ByteBuffer buf, final int offset, final int count, final DType dtype) {
        final float[] out = new float[count];
        switch (dtype) {
            case F32 -> {
                final ByteBuffer slice = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                slice.position(offset);
                slice.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out, 0, count);
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = halfToFloat(buf.getShort(offset + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.intBitsToFloat((buf.getShort(offset + 2 * i) & 0xffff) << 16);
                }
            }
            default -> throw new IllegalStateException(dtype.toString());
        }
        return out;
    }

    /** All tensor names, including those of unsupported dtypes (F32/F16/BF16 ones first, then the others). */
    public Set<String> names() {
        return names;
    }

    /**
     * The tensor (as float32), or null if absent.
     *
     * @throws IllegalArgumentException naming the tensor and its dtype if it is stored in a dtype other than
     *                                  F32, F16 or BF16 (such tensors do not stop {@link #read}: checkpoints
     *                                  often carry integer buffers that nobody needs)
     */
    public Tensor get(final String name) {
        final String bad = unsupported.get(name);
        if (bad != null) {
            throw new IllegalArgumentException(unsupportedMessage(name, bad));
        }
        return tensors.get(name);
    }

    /** The dtype name of a tensor whose dtype is not F32/F16/BF16, or null. */
    public String unsupportedDtype(final String name) {
        return unsupported.get(name);
    }

    String unsupportedMessage(final String name, final String dtype) {
        return "tensor " + name + " has unsupported dtype '" + dtype + "' (supported: F32, F16, BF16) in " + source;
    }

    /** The stored dtype of a tensor, or null if absent. */
    public DType dtype(final String name) {
        return dtypes.get(name);
    }

    /** The {@code __metadata__} map (empty if absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Writes float32 tensors: keys sorted, 8-byte aligned data start, the same bytes for the same input. */
    public static void write(final Path file, final Map<String, Tensor> tensors) throws IOException {
        write(file, tensors, DType.F32);
    }

    /** Writes all tensors in {@code dtype} (F16/BF16 round to nearest even), deterministically. */
    public static void write(final Path file, final Map<String, Tensor> tensors, final DType dtype) throws IOException {
        final Map<String, Tensor> sorted = new TreeMap<>(tensors);
        final ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (final Map.Entry<String, Tensor> e : sorted.entrySet()) {
            final ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", dtype.name());
            final ArrayNode shape = info.putArray("shape");
            for (final int d : e.getValue().shape()) {
                shape.add(d);
            }
            final long len = (long) e.getValue().size() * dtype.bytes();
            info.putArray("data_offsets").add(offset).add(offset + len);
            offset += len;
        }
        final byte[] json = JSON.writeValueAsBytes(header);
        // Pad the header with spaces (as the reference implementation does) so the data starts 8-byte aligned.
        final int padded = (json.length + 7) / 8 * 8;
        final Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            final ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            final ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (final Tensor t : sorted.values()) {
                for (final float v : t.data()) {
                    if (chunk.remaining() < 4) {
                        out.write(chunk.array(), 0, chunk.position());
                        chunk.clear();
                    }
                    switch (dtype) {
                        case F32 -> chunk.putFloat(v);
                        case F16 -> chunk.putShort(floatToHalf(v));
                        case BF16 -> chunk.putShort(floatToBf16(v));
                        default -> throw new IllegalStateException(dtype.toString());
                    }
                }
            }
            out.write(chunk.array(), 0, chunk.position());
        }
    }

    /** Rounds a float32 value to {@code dtype} and back, as a file written in that dtype and read back would. */
    public static float roundTo(final float v, final DType dtype) {
        return switch (dtype) {
            case F32 -> v;
            case F16 -> halfToFloat(floatToHalf(v));
            case BF16 -> Float.intBitsToFloat((floatToBf16(v) & 0xffff) << 16);
        };
    }

    /** IEEE 754 binary16 bits to float (exact). */
    static float halfToFloat(final short half) {
        final int h = half & 0xffff;
        final int sign = (h & 0x8000) << 16;
        final int exp = (h >>> 10) & 0x1f;
        final int mant = h & 0x3ff;
        if (exp == 0) {
            final float v = mant * 0x1p-24f; // zero or subnormal: exact
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** Float to IEEE 754 binary16 bits, round to nearest even, overflow to infinity. */
    static short floatToHalf(final float f) {
        final int bits = Float.floatToRawIntBits(f);
        final int sign = (bits >>> 16) & 0x8000;
        final int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) {
            return (short) (sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00));
        }
        if (abs >= 0x47800000) { // >= 65536: infinity
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x38800000) { // below the smallest normal half: subnormal or zero
            final int m = (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24f); // exact scaling, ties to even
            return (short) (sign | m); // m == 1024 encodes the smallest normal, as it should
        }
        final int exp = (abs >>> 23) - 127 + 15;
        final int mant = abs & 0x7fffff;
        int h = (exp << 10) | (mant >>> 13);
        final int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1)) {
            h++; // a carry into the exponent is right, up to infinity
        }
        return (short) (sign | h);
    }

    /** Float to bfloat16 bits, round to nearest even. */
    static short floatToBf16(final float f) {
        final int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // quiet NaN
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }
}
