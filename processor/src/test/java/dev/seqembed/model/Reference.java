package dev.seqembed.model;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Plain-Java double-precision reference of both models, written straight from SPEC §4 with loops and
 * no shared code with the ND4J implementation (only the tensor names).
 */
final class Reference {
    private Reference() {
    }

    /**
     * erf in double, |error| ~ 1e-15: erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)),
     * a series of positive terms (no cancellation), converging for all x; |x| >= 6 gives +-1 exactly
     * to double precision.
     */
    static double erf(final double x) {
        final double ax = Math.abs(x);
        if (ax >= 6.0) {
            return Math.signum(x);
        }
        double term = ax;
        double sum = ax;
        final double x2 = ax * ax;
        for (int n = 1; n < 500; n++) {
            term *= 2.0 * x2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) {
                break;
            }
        }
        final double r = 2.0 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
        return Math.copySign(r, x);
    }

    static double gelu(final double x) {
        return 0.5 * x * (1.0 + erf(x / Math.sqrt(2.0)));
    }

    static double act(final Activation a, final double x) {
        return switch (a) {
            case GELU -> gelu(x);
            case RELU -> Math.max(0.0, x);
            case TANH -> Math.tanh(x);
        };
    }

    /** y = x W^T + b with W [out, in] as in nn.Linear. */
    static double[][] linear(final double[][] x, final Tensor w, final Tensor b) {
        final int out = w.shape()[0];
        final int in = w.shape()[1];
        final double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < out; o++) {
                double s = b.data()[o];
                for (int i = 0; i < in; i++) {
                    s += x[r][i] * w.data()[o * in + i];
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    static double[][] layerNorm(final double[][] x, final Tensor g, final Tensor b, final double eps) {
        final double[][] y = new double[x.length][];
        for (int r = 0; r < x.length; r++) {
            final int h = x[r].length;
            double mean = 0;
            for (final double v : x[r]) {
                mean += v;
            }
            mean /= h;
            double var = 0;
            for (final double v : x[r]) {
                var += (v - mean) * (v - mean);
            }
            var /= h;
            final double inv = 1.0 / Math.sqrt(var + eps);
            y[r] = new double[h];
            for (int j = 0; j < h; j++) {
                y[r][j] = (x[r][j] - mean) * inv * g.data()[j] + b.data()[j];
            }
        }
        return y;
    }

    /** The dense window model on one padded window. */
    static double[] dense(final Map<String, Tensor> t, final WindowMlpConfig c, final int[] tokens, final int valid) {
        final int d = c.embedDim();
        final double[][] x = new double[1][c.window() * d];
        for (int i = 0; i < c.window(); i++) {
            final double mask = i < valid ? 1.0 : 0.0;
            for (int j = 0; j < d; j++) {
                x[0][i * d + j] = t.get("embedding.weight").data()[tokens[i] * d + j] * mask;
            }
        }
        final double[][] h = linear(x, t.get("fc1.weight"), t.get("fc1.bias"));
        for (int j = 0; j < h[0].length; j++) {
            h[0][j] = act(c.hiddenAct(), h[0][j]);
        }
        final double[] y = linear(h, t.get("fc2.weight"), t.get("fc2.bias"))[0];
        return c.normalize() ? normalize(y) : y;
    }

    static double[] normalize(final double[] y) {
        double s = 0;
        for (final double v : y) {
            s += v * v;
        }
        final double n = Math.max(Math.sqrt(s), 1e-12);
        final double[] o = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            o[i] = y[i] / n;
        }
        return o;
    }

    /** Final hidden states of a full BERT forward (positions 0..n-1, token type 0). */
    static double[][] bert(final Map<String, Tensor> t, final String prefix, final BertConfig c, final int[] tokens,
                           final boolean causal) {
        final int n = tokens.length;
        final int h = c.hiddenSize();
        final int heads = c.numAttentionHeads();
        final int dh = h / heads;
        final double eps = c.layerNormEps();
        final float[] word = t.get(prefix + "embeddings.word_embeddings.weight").data();
        final float[] pos = t.get(prefix + "embeddings.position_embeddings.weight").data();
        final float[] type = t.get(prefix + "embeddings.token_type_embeddings.weight").data();
        double[][] x = new double[n][h];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < h; j++) {
                x[r][j] = (double) word[tokens[r] * h + j] + pos[r * h + j] + type[j];
            }
        }
        x = layerNorm(x, t.get(prefix + "embeddings.LayerNorm.weight"), t.get(prefix + "embeddings.LayerNorm.bias"), eps);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            final String p = prefix + "encoder.layer." + l + ".";
            final double[][] q = linear(x, t.get(p + "attention.self.query.weight"), t.get(p + "attention.self.query.bias"));
            final double[][] k = linear(x, t.get(p + "attention.self.key.weight"), t.get(p + "attention.self.key.bias"));
            final double[][] v = linear(x, t.get(p + "attention.self.value.weight"), t.get(p + "attention.self.value.bias"));
            final double[][] ctx = new double[n][h];
            final double scale = 1.0 / Math.sqrt(dh);
            for (int hd = 0; hd < heads; hd++) {
                final int o = hd * dh;
                for (int r = 0; r < n; r++) {
                    final double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        if (causal && j > r) {
                            s[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int e = 0; e < dh; e++) {
                            dot += q[r][o + e] * k[j][o + e];
                        }
                        s[j] = dot * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j < n; j++) {
                        final double w = s[j] / sum;
                        if (w != 0) {
                            for (int e = 0; e < dh; e++) {
                                ctx[r][o + e] += w * v[j][o + e];
                            }
                        }
                    }
                }
            }
            final double[][] ao = linear(ctx, t.get(p + "attention.output.dense.weight"), t.get(p + "attention.output.dense.bias"));
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < h; j++) {
                    ao[r][j] += x[r][j];
                }
            }
            final double[][] a = layerNorm(ao, t.get(p + "attention.output.LayerNorm.weight"),
                    t.get(p + "attention.output.LayerNorm.bias"), eps);
            final double[][] mid = linear(a, t.get(p + "intermediate.dense.weight"), t.get(p + "intermediate.dense.bias"));
            for (final double[] row : mid) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = act(c.hiddenAct(), row[j]);
                }
            }
            final double[][] out = linear(mid, t.get(p + "output.dense.weight"), t.get(p + "output.dense.bias"));
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < h; j++) {
                    out[r][j] += a[r][j];
                }
            }
            x = layerNorm(out, t.get(p + "output.LayerNorm.weight"), t.get(p + "output.LayerNorm.bias"), eps);
        }
        return x;
    }

    /** Mean or first-row pooling of the first {@code n} rows, then optional L2 normalisation. */
    static double[] pool(final double[][] states, final int n, final Pooling pooling, final boolean normalize) {
        final int h = states[0].length;
        final double[] v = new double[h];
        if (pooling == Pooling.CLS) {
            System.arraycopy(states[0], 0, v, 0, h);
        } else {
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < h; j++) {
                    v[j] += states[r][j];
                }
            }
            for (int j = 0; j < h; j++) {
                v[j] /= n;
            }
        }
        return normalize ? normalize(v) : v;
    }

    /**
     * Element-wise |a - e| <= rel * max(|e|, floor), floor = 1e-2 * max|e| so that components near zero are
     * judged against the vector's scale, not their own.
     */
    static void assertClose(final float[] actual, final double[] expected, final double rel, final String what) {
        assertThat(actual).as(what + " length").hasSize(expected.length);
        double maxAbs = 0;
        for (final double e : expected) {
            maxAbs = Math.max(maxAbs, Math.abs(e));
        }
        final double floor = Math.max(1e-2 * maxAbs, 1e-30);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.isFinite(actual[i])).as(what + "[" + i + "] finite").isTrue();
            final double tol = rel * Math.max(Math.abs(expected[i]), floor);
            assertThat(Math.abs(actual[i] - expected[i]))
                    .as("%s[%d]: actual %s, expected %s", what, i, actual[i], expected[i])
                    .isLessThanOrEqualTo(tol);
        }
    }

    static void assertClose(final float[][] actual, final double[][] expected, final double rel, final String what) {
        assertThat(actual.length).as(what + " rows").isEqualTo(expected.length);
        for (int r = 0; r < expected.length; r++) {
            assertClose(actual[r], expected[r], rel, what + " row " + r);
        }
    }

    /** A float vector widened to double, to compare with the reference. */
    static double[] toDouble(final float[] v) {
        final double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
