package dev.seqembed.onnx;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The number of attention heads as the graph states it: BERT's attention reshapes each projection from
 * {@code [batch, seq, hidden]} to {@code [batch, seq, heads, head_size]}. The target shape is a constant, or (in
 * dynamic-axes exports) a {@code Concat} of computed batch/sequence sizes and constant {@code heads},
 * {@code head_size}; only its last two entries are needed, so they are read from the Concat's trailing
 * constant inputs. A pair counts when both are &gt; 1 and multiply to {@code hidden}.
 */
final class AttentionHeads {
    private AttentionHeads() {
    }

    /**
     * The head count every such Reshape agrees on.
     *
     * @throws OnnxImportException when no Reshape states one, or they disagree
     */
    static int find(final OnnxGraph graph, final int hidden) throws OnnxImportException {
        final TreeMap<Integer, Integer> votes = new TreeMap<>();
        for (final OnnxNode reshape : graph.nodesOfType("Reshape")) {
            final long[] tail = trailingConstants(graph, reshape.input(1), 2);
            if (tail == null) {
                continue;
            }
            final long heads = tail[0];
            final long headSize = tail[1];
            if (heads > 1 && headSize > 1 && heads * headSize == hidden) {
                votes.merge((int) heads, 1, Integer::sum);
            }
        }
        if (votes.isEmpty()) {
            throw new OnnxImportException("no Reshape to [..., heads, head_size] with heads * head_size = hidden_size "
                    + hidden + " in the graph: cannot tell num_attention_heads; pass --heads N");
        }
        if (votes.size() > 1) {
            throw new OnnxImportException("the graph's Reshapes disagree on num_attention_heads " + votes.keySet()
                    + " (hidden_size " + hidden + "); pass --heads N");
        }
        return votes.firstKey();
    }

    /** The last {@code n} entries of a 1-D integer shape value, or null where they are not constant. */
    private static long[] trailingConstants(final OnnxGraph graph, final String value, final int n) {
        final OnnxTensor constant = graph.constant(value);
        if (constant != null) {
            return constant.isInteger() ? tail(constant.longValues(), n) : null;
        }
        final OnnxNode p = graph.producer(value);
        if (p == null || !p.opType().equals("Concat")) {
            return null;
        }
        // Walk the Concat's inputs from the end, collecting constant entries until n are known.
        final List<Long> collected = new ArrayList<>();
        for (int i = p.inputs().size() - 1; i >= 0 && collected.size() < n; i--) {
            final OnnxTensor part = graph.constant(p.input(i));
            if (part == null || !part.isInteger()) {
                return null;
            }
            final long[] v = part.longValues();
            for (int k = v.length - 1; k >= 0 && collected.size() < n; k--) {
                collected.add(0, v[k]);
            }
        }
        if (collected.size() < n) {
            return null;
        }
        return collected.stream().mapToLong(Long::longValue).toArray();
    }

    private static long[] tail(final long[] values, final int n) {
        return values.length < n ? null : java.util.Arrays.copyOfRange(values, values.length - n, values.length);
    }
}
