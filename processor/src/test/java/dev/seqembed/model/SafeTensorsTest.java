package dev.seqembed.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafeTensorsTest {
    @TempDir
    Path tmp;

    private static Map<String, Tensor> sample() {
        final Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("z.weight", new Tensor(new int[] {2, 3}, new float[] {1, -2, 3.5f, 0, -0f, 1e-3f}));
        t.put("a.bias", new Tensor(new int[] {3}, new float[] {0.1f, 0.2f, 0.3f}));
        t.put("m.scalar", new Tensor(new int[] {}, new float[] {42f}));
        return t;
    }

    @Test
    void f32RoundTripIsExactSortedAlignedAndDeterministic() throws IOException {
        final Path a = tmp.resolve("a.safetensors");
        final Path b = tmp.resolve("b.safetensors");
        SafeTensors.write(a, sample());
        SafeTensors.write(b, new java.util.TreeMap<>(sample()).descendingMap());
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
        final SafeTensors st = SafeTensors.read(a);
        assertThat(st.names()).containsExactly("a.bias", "m.scalar", "z.weight");
        sample().forEach((name, t) -> assertThat(st.get(name)).as(name).isEqualTo(t));
        assertThat(st.get("absent")).isNull();
        assertThat(st.dtype("z.weight")).isEqualTo(SafeTensors.DType.F32);
        assertThat(st.metadata()).containsEntry("format", "pt");
        final byte[] bytes = Files.readAllBytes(a);
        final long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat((8 + headerLen) % 8).isZero();
        assertThat(bytes.length - 8 - headerLen).isEqualTo(4L * (6 + 3 + 1));
        // the first tensor in the data section is a.bias, little-endian
        assertThat(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getFloat((int) (8 + headerLen)))
                .isEqualTo(0.1f);
    }

    @Test
    void readsHandWrittenFileWithOffsetsOutOfNameOrder() throws IOException {
        // header order and data order differ, as files written by other tools may
        final String header = "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        final Path f = raw(header, 1.5f, 2.5f, -3.5f);
        final SafeTensors st = SafeTensors.read(f);
        assertThat(st.get("b").data()).containsExactly(1.5f);
        assertThat(st.get("a").data()).containsExactly(2.5f, -3.5f);
        assertThat(st.metadata()).isEmpty();
    }

    @Test
    void halfAndBfloat16ConvertExactly() throws IOException {
        // every finite half value survives half -> float -> half
        for (int h = 0; h < 65536; h++) {
            final float f = SafeTensors.halfToFloat((short) h);
            if (!Float.isNaN(f)) {
                assertThat(SafeTensors.floatToHalf(f) & 0xffff).as("half 0x%04x", h).isEqualTo(h);
            }
        }
        assertThat(SafeTensors.halfToFloat((short) 0x3c00)).isEqualTo(1f);
        assertThat(SafeTensors.halfToFloat((short) 0xc100)).isEqualTo(-2.5f);
        assertThat(SafeTensors.halfToFloat((short) 0x7bff)).isEqualTo(65504f);
        assertThat(SafeTensors.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(SafeTensors.roundTo(65520f, SafeTensors.DType.F16)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(SafeTensors.roundTo(65519f, SafeTensors.DType.F16)).isEqualTo(65504f);
        assertThat(SafeTensors.roundTo(1f + 0x1p-11f, SafeTensors.DType.F16)).isEqualTo(1f); // tie to even
        assertThat(SafeTensors.roundTo(1f + 3 * 0x1p-11f, SafeTensors.DType.F16)).isEqualTo(1f + 0x1p-9f);
        assertThat(SafeTensors.roundTo(1f + 0x1p-8f, SafeTensors.DType.BF16)).isEqualTo(1f); // tie to even
        assertThat(SafeTensors.roundTo(1f + 3 * 0x1p-8f, SafeTensors.DType.BF16)).isEqualTo(1f + 0x1p-6f);
        assertThat(SafeTensors.roundTo(Float.NaN, SafeTensors.DType.BF16)).isNaN();
        assertThat(SafeTensors.roundTo(Float.NaN, SafeTensors.DType.F16)).isNaN();

        for (final SafeTensors.DType dtype : List.of(SafeTensors.DType.F16, SafeTensors.DType.BF16)) {
            final Path f = tmp.resolve(dtype + ".safetensors");
            SafeTensors.write(f, sample(), dtype);
            final SafeTensors st = SafeTensors.read(f);
            assertThat(st.dtype("z.weight")).isEqualTo(dtype);
            sample().forEach((name, t) -> {
                final float[] expected = t.data().clone();
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = SafeTensors.roundTo(expected[i], dtype);
                }
                assertThat(st.get(name).shape()).isEqualTo(t.shape());
                assertThat(st.get(name).data()).as(dtype + " " + name).containsExactly(expected);
            });
            assertThat(Files.size(f) - 8 - headerLength(f)).isEqualTo(2L * 10);
        }
    }

    @Test
    void unsupportedDtypeIsListedAndNamedWhenRequested() throws IOException {
        final Path f = raw("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 0f, 0f, 5f);
        final SafeTensors st = SafeTensors.read(f);
        assertThat(st.names()).containsExactlyInAnyOrder("ids", "w");
        assertThat(st.get("w").data()).containsExactly(5f);
        assertThat(st.unsupportedDtype("ids")).isEqualTo("I64");
        assertThatThrownBy(() -> st.get("ids")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tensor ids").hasMessageContaining("'I64'");
        final Path outside = raw("{\"ids\":{\"dtype\":\"I64\",\"shape\":[4],\"data_offsets\":[0,32]}}", 0f);
        assertThatThrownBy(() -> SafeTensors.read(outside)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("ids");
    }

    @Test
    void corruptFilesFailClearly() throws IOException {
        final Path tiny = tmp.resolve("tiny");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafeTensors.read(tiny)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("not a safetensors file");
        final Path hugeHeader = tmp.resolve("huge");
        Files.write(hugeHeader, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertThatThrownBy(() -> SafeTensors.read(hugeHeader)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("header length");
        final Path badOffsets = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 1f, 2f);
        assertThatThrownBy(() -> SafeTensors.read(badOffsets)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("w").hasMessageContaining("data_offsets");
        final Path badJson = raw("{\"w\":", 1f);
        assertThatThrownBy(() -> SafeTensors.read(badJson)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("JSON");
        assertThatThrownBy(() -> SafeTensors.read(tmp.resolve("nope"))).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing file");
    }

    @Test
    void tensorValidatesShape() {
        assertThatThrownBy(() -> new Tensor(new int[] {2, 2}, new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 2]");
        assertThat(new Tensor(new int[] {2}, new float[] {1, 2}))
                .isEqualTo(new Tensor(new int[] {2}, new float[] {1, 2}))
                .hasSameHashCodeAs(new Tensor(new int[] {2}, new float[] {1, 2}))
                .isNotEqualTo(new Tensor(new int[] {1, 2}, new float[] {1, 2}));
    }

    private long headerLength(final Path f) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private Path raw(final String header, final float... data) throws IOException {
        final byte[] h = header.getBytes(StandardCharsets.UTF_8);
        final ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        for (final float v : data) {
            buf.putFloat(v);
        }
        final Path f = Files.createTempFile(tmp, "raw", ".safetensors");
        Files.write(f, buf.array());
        return f;
    }
}
