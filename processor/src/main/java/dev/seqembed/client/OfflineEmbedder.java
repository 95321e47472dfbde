package dev.seqembed.client;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import dev.seqembed.avro.Embedding;
import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.engine.AttentionBounds;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Clock;
import dev.seqembed.engine.DenseEngine;
import dev.seqembed.engine.ValidationRules;
import dev.seqembed.engine.WindowSlicer;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.state.TokenBuffer;

/**
 * The models offline, without Kafka ({@code embed}), through the same engines, validation rules and bounds as
 * the stream processor, so its vectors equal the streamed ones. Invalid sequences are reported and skipped.
 */
public final class OfflineEmbedder {

    private final Consumer<String> skipped;

    /** @param skipped receives one line per invalid sequence, naming it, its reason code and what was wrong */
    public OfflineEmbedder(final Consumer<String> skipped) {
        this.skipped = skipped;
    }

    /**
     * The dense path: every window of every valid sequence, in micro-batches of {@code dense.batch.max-windows}.
     *
     * @param maxTokens longest sequence accepted (the processor's bound is the attention model's positions)
     */
    public List<Embedding> dense(final DenseWindowModel model, final List<SequenceInput> sequences,
                                 final SeqembedConfig config, final int maxTokens) {
        final WindowSlicer slicer = new WindowSlicer(model.config());
        final List<DenseEngine.Pending> windows = new ArrayList<>();
        final long now = System.currentTimeMillis();
        final ValidationRules rules = new ValidationRules(model.config().vocabSize(), maxTokens, n -> 0,
                Long.MAX_VALUE, Long.MAX_VALUE);
        for (final SequenceInput s : sequences) {
            if (!valid(rules, s)) {
                continue;
            }
            for (final WindowSlicer.Slice w : slicer.slice(s.tokens())) {
                windows.add(new DenseEngine.Pending(w.toRecord(s.sequenceId(), now), now));
            }
        }
        final DenseEngine engine = new DenseEngine(model, Clock.SYSTEM);
        final int batch = config.denseBatchMaxWindows();
        final List<Embedding> out = new ArrayList<>(windows.size());
        for (int i = 0; i < windows.size(); i += batch) {
            out.addAll(engine.embed(windows.subList(i, Math.min(windows.size(), i + batch))));
        }
        return out;
    }

    /**
     * The attention path in the configured mode: one Embedding per sequence (encoder), per window of a long one
     * (encoder under {@code attention.overflow=window}) or per chunk of {@code chunk} tokens (causal; chunk &lt;= 0:
     * the whole sequence in one chunk).
     */
    public List<Embedding> attention(final BertModel model, final List<SequenceInput> sequences,
                                     final SeqembedConfig config, final int chunk) {
        final AttentionEngine engine = new AttentionEngine(model, config.attentionPoolingCls() ? Pooling.CLS
                : Pooling.MEAN, config.attentionNormalize(), Clock.SYSTEM);
        final int positions = model.config().maxPositionEmbeddings();
        final int windowStride = AttentionBounds.windowStride(config, positions);
        final List<Embedding> out = new ArrayList<>();
        final ValidationRules rules = ValidationRules.forAttention(config, model.config(),
                model.config().vocabSize());
        for (final SequenceInput s : sequences) {
            if (!valid(rules, s)) {
                continue;
            }
            final long now = System.currentTimeMillis();
            if (config.attentionMode() == AttentionMode.ENCODER && windowStride > 0) {
                // one forward per window, as for any sequence offline
                for (final AttentionEngine.Pending w : AttentionEngine.Pending.of(s.sequenceId(), s.tokens(), now,
                        TokenBuffer.sizeBytes(s.tokens().length), positions, windowStride)) {
                    out.addAll(engine.encodeBatch(List.of(w)));
                }
                continue;
            }
            if (config.attentionMode() == AttentionMode.ENCODER) {
                final int[] tokens = AttentionBounds.fitting(s.tokens(), 0, positions);
                out.add(engine.encode(s.sequenceId(), tokens, now, TokenBuffer.sizeBytes(tokens.length)));
                continue;
            }
            final KvCache cache = model.newCache();
            final List<int[]> chunks = s.chunks(chunk);
            for (int i = 0; i < chunks.size(); i++) {
                final int[] c = chunks.get(i);
                final int[] kept = AttentionBounds.fitting(c, cache.length(), positions);
                out.add(engine.causal(s.sequenceId(), cache, i, kept, i == chunks.size() - 1, now));
            }
        }
        return out;
    }

    private boolean valid(final ValidationRules rules, final SequenceInput s) {
        final ValidationRules.Violation v = rules.check(s.sequenceId(), s.tokens(), 0, false);
        if (v != null) {
            skipped.accept("skipped " + s.sequenceId() + ": " + v.code() + ": " + v.message());
        }
        return v == null;
    }
}
