package dev.seqembed.model;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KvCacheTest {

    private static KvCache filled() {
        final KvCache c = new KvCache(2, 3);
        for (int l = 0; l < 2; l++) {
            c.stage(l, new float[] {l, 1, 2, 3, 4, 5}, new float[] {-l, -1, -2, -3, -4, -5}, 2);
        }
        c.commit(2, new double[] {1, 2, 3}, new float[] {7, 8, 9});
        return c;
    }

    @Test
    void layoutIsTheDocumentedLittleEndianFormat() {
        final KvCache c = filled();
        final byte[] bytes = c.toBytes();
        assertThat(bytes).hasSize((int) c.sizeBytes()).hasSize(20 + 4 * (2 * 2 * 2 * 3 + 2 * 3));
        final ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(bytes, 0, 4, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("SEKV");
        b.position(4);
        assertThat(b.getInt()).isEqualTo(1);
        assertThat(b.getInt()).isEqualTo(2);
        assertThat(b.getInt()).isEqualTo(3);
        assertThat(b.getInt()).isEqualTo(2);
        assertThat(b.getFloat(20)).isEqualTo(0f);           // layer 0 K[0]
        assertThat(b.getFloat(20 + 4 * 6)).isEqualTo(-0f);  // layer 0 V[0]
        assertThat(b.getFloat(20 + 4 * 12)).isEqualTo(1f);  // layer 1 K[0]
        assertThat(b.getFloat(20 + 4 * 24)).isEqualTo(1f);  // pooled sum[0]
        assertThat(b.getFloat(20 + 4 * 27)).isEqualTo(7f);  // first token[0]
        final KvCache back = KvCache.fromBytes(bytes);
        assertThat(back.length()).isEqualTo(2);
        assertThat(back.toBytes()).isEqualTo(bytes);
        assertThat(c.copy().toBytes()).isEqualTo(bytes);
    }

    @Test
    void stagedButUncommittedDataIsInvisible() {
        final KvCache c = filled();
        final byte[] before = c.toBytes();
        c.stage(0, new float[] {9, 9, 9}, new float[] {9, 9, 9}, 1);
        assertThat(c.length()).isEqualTo(2);
        assertThat(c.toBytes()).isEqualTo(before);
    }

    @Test
    void corruptionIsRejectedClearly() {
        final byte[] good = filled().toBytes();
        assertThatThrownBy(() -> KvCache.fromBytes(new byte[3])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too short");
        assertThatThrownBy(() -> KvCache.fromBytes(null)).isInstanceOf(IllegalArgumentException.class);
        final byte[] magic = good.clone();
        magic[0] = 'X';
        assertThatThrownBy(() -> KvCache.fromBytes(magic)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("magic");
        final byte[] version = good.clone();
        version[4] = 9;
        assertThatThrownBy(() -> KvCache.fromBytes(version)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("version 9");
        assertThatThrownBy(() -> KvCache.fromBytes(Arrays.copyOf(good, good.length - 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs " + good.length);
        final byte[] length = good.clone();
        length[16] = (byte) 0xff; // huge length
        length[19] = (byte) 0x7f;
        assertThatThrownBy(() -> KvCache.fromBytes(length)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("corrupt");
        final byte[] negative = good.clone();
        negative[8] = 0;
        assertThatThrownBy(() -> KvCache.fromBytes(negative)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layers 0");
    }
}
