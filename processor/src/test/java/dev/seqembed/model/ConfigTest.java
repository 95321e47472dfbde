package dev.seqembed.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigTest {
    private static final WindowMlpConfig DENSE = DefaultModels.DENSE_CONFIG; // W 16, S 8
    /** The hand-computed numbers below are for this shape (hidden 256, intermediate 1024, 4 layers). */
    private static final BertConfig BERT = new BertConfig(30522, 256, 4, 4, 1024, Activation.GELU, 512, 2, 1e-12f);

    @Test
    void windowCountEdges() {
        assertThat(DENSE.windowCount(1)).isEqualTo(1);
        assertThat(DENSE.windowCount(15)).isEqualTo(1);
        assertThat(DENSE.windowCount(16)).isEqualTo(1);
        assertThat(DENSE.windowCount(17)).isEqualTo(2);
        assertThat(DENSE.windowCount(24)).isEqualTo(2);
        assertThat(DENSE.windowCount(25)).isEqualTo(3);
        assertThat(DENSE.windowCount(100)).isEqualTo(12); // 1 + ceil(84 / 8)
        assertThat(DENSE.windowCount(Integer.MAX_VALUE)).isEqualTo(1 + (int) Math.ceil((Integer.MAX_VALUE - 16.0) / 8));
        final WindowMlpConfig s1 = new WindowMlpConfig(10, 1, 4, 1, 1, 1, Activation.RELU, false, 0);
        assertThat(s1.windowCount(4)).isEqualTo(1);
        assertThat(s1.windowCount(7)).isEqualTo(4);
        assertThatThrownBy(() -> DENSE.windowCount(0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(DENSE.windowValid(17, 1)).isEqualTo(9);
        assertThat(DENSE.windowTokens(new int[] {5, 6, 7}, 0))
                .containsExactly(5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        assertThatThrownBy(() -> DENSE.windowValid(16, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void denseFlopsFromTheSpecFormula() {
        // 2 * (H*W*d + O*H) = 2 * (512*16*32 + 256*512)
        assertThat(DENSE.flopsPerWindow()).isEqualTo(786_432L);
        assertThat(new WindowMlpConfig(10, 3, 5, 2, 7, 11, Activation.TANH, false, 0).flopsPerWindow())
                .isEqualTo(2L * (7 * 5 * 3 + 11 * 7));
    }

    @Test
    void attentionFlopsFromTheSpecFormula() {
        // per layer: 2*m*(4*h*h + 2*h*i) + 4*m*c*h, h 256, i 1024, 4 layers
        // encoder, m = c = 128: 2*128*786432 + 4*128*128*256 = 201326592 + 16777216
        assertThat(BERT.flops(128, 128)).isEqualTo(4L * 218_103_808L);
        // causal chunk of 3 after 7 cached: 2*3*786432 + 4*3*10*256 = 4718592 + 30720
        assertThat(BERT.flops(3, 10)).isEqualTo(4L * 4_749_312L);
        // 512 tokens: no int overflow
        assertThat(BERT.flops(512, 512)).isEqualTo(4L * (2L * 512 * 786_432 + 4L * 512 * 512 * 256));
        final BertConfig minilm = new BertConfig(30522, 384, 6, 12, 1536, Activation.GELU, 512, 2, 1e-12f);
        assertThat(minilm.flops(1, 1)).isEqualTo(6L * (2 * (4 * 384 * 384 + 2 * 384 * 1536) + 4 * 384));
        assertThat(minilm.headSize()).isEqualTo(32);
        assertThatThrownBy(() -> BERT.flops(5, 4)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void configValidation() {
        assertThatThrownBy(() -> new BertConfig(10, 30, 1, 4, 8, Activation.GELU, 8, 1, 1e-12f))
                .hasMessageContaining("multiple of num_attention_heads");
        assertThatThrownBy(() -> new WindowMlpConfig(10, 1, 4, 0, 1, 1, Activation.RELU, false, 0))
                .hasMessageContaining("stride");
        assertThatThrownBy(() -> new WindowMlpConfig(10, 1, 4, 1, 1, 1, Activation.RELU, false, 10))
                .hasMessageContaining("pad_token_id");
    }

    @Test
    void activationAndPoolingNames() {
        assertThat(Activation.fromConfig("gelu")).isEqualTo(Activation.GELU);
        assertThat(Activation.fromConfig("relu")).isEqualTo(Activation.RELU);
        assertThat(Activation.fromConfig("tanh")).isEqualTo(Activation.TANH);
        for (final String bad : new String[] {"gelu_new", "GELU", "swish", ""}) {
            assertThatThrownBy(() -> Activation.fromConfig(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> Activation.fromConfig(null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Pooling.fromConfig("Mean")).isEqualTo(Pooling.MEAN);
        assertThat(Pooling.fromConfig("cls")).isEqualTo(Pooling.CLS);
        assertThatThrownBy(() -> Pooling.fromConfig("max")).hasMessageContaining("max");
    }
}
