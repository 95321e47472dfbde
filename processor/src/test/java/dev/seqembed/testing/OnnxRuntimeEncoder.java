package dev.seqembed.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.util.Map;

/**
 * ONNX Runtime on a BERT export with inputs {@code input_ids, attention_mask, token_type_ids} and output
 * {@code last_hidden_state}: the peer seqembed is compared with (fidelity tests, peer benchmark). Mean pooling
 * over the tokens and L2 normalisation happen here in double, as sentence-transformers does after the model.
 * Session: {@code intraOpThreads} threads inside an operator, one between operators, sequential execution, all
 * graph optimisations (ONNX Runtime's defaults for a CPU session apart from the thread counts).
 */
public final class OnnxRuntimeEncoder implements AutoCloseable {
    private final OrtEnvironment env;
    private final OrtSession session;

    public OnnxRuntimeEncoder(final byte[] model, final int intraOpThreads) throws OrtException {
        this.env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(intraOpThreads);
            o.setInterOpNumThreads(1);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            this.session = env.createSession(model, o);
        }
    }

    /** Final hidden states [batch][T][hidden] of equal-length sequences in one run (no padding needed). */
    public float[][][] hiddenStates(final int[][] batch) throws OrtException {
        final int b = batch.length;
        final int t = batch[0].length;
        final long[][] ids = new long[b][t];
        final long[][] mask = new long[b][t];
        final long[][] types = new long[b][t];
        for (int s = 0; s < b; s++) {
            if (batch[s].length != t) {
                throw new IllegalArgumentException("sequences of one run must have the same length");
            }
            for (int i = 0; i < t; i++) {
                ids[s][i] = batch[s][i];
                mask[s][i] = 1;
            }
        }
        try (OnnxTensor idsT = OnnxTensor.createTensor(env, ids);
             OnnxTensor maskT = OnnxTensor.createTensor(env, mask);
             OnnxTensor typesT = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", idsT, "attention_mask", maskT,
                     "token_type_ids", typesT))) {
            return (float[][][]) r.get(0).getValue();
        }
    }

    /** Mean-pooled, L2-normalised embeddings of equal-length sequences, one run. */
    public double[][] embed(final int[][] batch) throws OrtException {
        final float[][][] states = hiddenStates(batch);
        final double[][] out = new double[states.length][];
        for (int s = 0; s < states.length; s++) {
            out[s] = meanL2(states[s]);
        }
        return out;
    }

    /** Mean over rows, then L2 normalisation, in double. */
    public static double[] meanL2(final float[][] rows) {
        final int h = rows[0].length;
        final double[] v = new double[h];
        for (final float[] row : rows) {
            for (int j = 0; j < h; j++) {
                v[j] += row[j];
            }
        }
        double norm = 0;
        for (int j = 0; j < h; j++) {
            v[j] /= rows.length;
            norm += v[j] * v[j];
        }
        norm = Math.max(Math.sqrt(norm), 1e-12);
        for (int j = 0; j < h; j++) {
            v[j] /= norm;
        }
        return v;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
