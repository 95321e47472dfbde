package dev.seqembed.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.state.TokenBuffer;
import dev.seqembed.testing.TestModels;

/** The attention bounds: what truncation keeps, and a state projection equal to the state really held. */
class AttentionBoundsTest {

    @TempDir
    Path dir;

    @Test
    void fittingKeepsWhatTheRemainingPositionsHold() {
        final int[] chunk = {1, 2, 3, 4};
        assertThat(AttentionBounds.fitting(chunk, 0, 8)).containsExactly(1, 2, 3, 4);
        assertThat(AttentionBounds.fitting(chunk, 6, 8)).containsExactly(1, 2);
        assertThat(AttentionBounds.fitting(chunk, 8, 8)).isEmpty();
        assertThat(AttentionBounds.fitting(chunk, 9, 8)).isEmpty();
    }

    @Test
    void windowedSequencesKeepEveryToken() {
        final int[] chunk = {1, 2, 3, 4};
        assertThat(AttentionBounds.kept(chunk, 6, 8, 4)).containsExactly(1, 2, 3, 4);
        assertThat(AttentionBounds.kept(chunk, 6, 8, 0)).containsExactly(1, 2);
    }

    @Test
    void onlyTheWindowedEncoderCapsTheStateAtOneChangelogRecord() {
        final String big = String.valueOf(10 * TokenBuffer.MAX_BYTES);
        final SeqembedConfig window = SeqembedConfig.from(Map.of(SeqembedConfig.ATTENTION_OVERFLOW, "window",
                SeqembedConfig.STATE_MAX_BYTES, big));
        final SeqembedConfig truncate = SeqembedConfig.from(Map.of(SeqembedConfig.ATTENTION_OVERFLOW, "truncate",
                SeqembedConfig.STATE_MAX_BYTES, big));
        assertThat(AttentionBounds.maxStateBytes(window)).isEqualTo(TokenBuffer.MAX_BYTES);
        assertThat(AttentionBounds.maxStateBytes(truncate)).isEqualTo(10 * TokenBuffer.MAX_BYTES);
        assertThat(AttentionBounds.windowStride(window, 8)).isEqualTo(4);
        assertThat(AttentionBounds.windowStride(truncate, 8)).isZero();
        assertThat(ValidationRules.forAttention(window, TestModels.BERT, 200).maxTokens()).isEqualTo(Integer.MAX_VALUE);
        assertThat(ValidationRules.forAttention(SeqembedConfig.from(Map.of()), TestModels.BERT, 200).maxTokens())
                .isEqualTo(TestModels.BERT.maxPositionEmbeddings());
    }

    @Test
    void causalProjectionIsTheCacheTheModelBuilds() throws Exception {
        final BertModel model = TestModels.write(dir).attention();
        final KvCache cache = model.newCache();
        assertThat(AttentionBounds.stateBytes(AttentionMode.CAUSAL, TestModels.BERT, 0)).isEqualTo(cache.sizeBytes());
        int n = 0;
        for (final int[] chunk : new int[][] {{5, 6, 7}, {8}, {9, 10, 11, 12, 13}}) {
            model.appendCausal(cache, chunk, Pooling.MEAN, true);
            n += chunk.length;
            assertThat(AttentionBounds.stateBytes(AttentionMode.CAUSAL, TestModels.BERT, n))
                    .isEqualTo(cache.sizeBytes()).isEqualTo(cache.toBytes().length);
        }
    }

    @Test
    void encoderProjectionIsTheTokenBuffer() {
        assertThat(AttentionBounds.stateBytes(AttentionMode.ENCODER, TestModels.BERT, 7))
                .isEqualTo(TokenBuffer.SERDE.serializer().serialize("t", new TokenBuffer(new int[7])).length);
    }

    @Test
    void rulesRejectTheFirstSequenceWhoseStateWouldPassTheLimit() {
        final long limit = AttentionBounds.stateBytes(AttentionMode.CAUSAL, TestModels.BERT, 10);
        final SeqembedConfig config = SeqembedConfig.from(Map.of(SeqembedConfig.ATTENTION_MODE, "causal",
                SeqembedConfig.STATE_MAX_BYTES, String.valueOf(limit)));
        final ValidationRules rules = ValidationRules.forAttention(config, TestModels.BERT, 200);
        assertThat(rules.check("s", new int[10], 0, false)).isNull();
        assertThat(rules.check("s", new int[1], 10, false).code()).isEqualTo(ErrorCode.STATE_LIMIT);
    }
}
