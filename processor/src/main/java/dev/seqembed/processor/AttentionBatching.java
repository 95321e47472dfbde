package dev.seqembed.processor;

/**
 * When the attention micro-batch flushes ({@code attention.batch.*}), in either mode: what waits (encoder mode:
 * complete sequences or their windows; causal mode: chunks) is computed once it holds {@code maxTokens} tokens or
 * its oldest has waited {@code maxWaitMs}.
 *
 * @param maxTokens flush once what waits holds this many tokens (1 = no batching: computed on arrival)
 * @param maxWaitMs flush once the oldest has waited this long
 */
public record AttentionBatching(int maxTokens, long maxWaitMs) {
}
