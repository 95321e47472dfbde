package dev.seqembed.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class DefaultModelsTest {
    @TempDir
    Path tmp;

    @Test
    void sameBytesEveryTimeAndLoadable() throws IOException {
        DefaultModels.write(tmp.resolve("one"));
        DefaultModels.write(tmp.resolve("two"));
        for (final String model : new String[] {"dense", "attention"}) {
            for (final String file : new String[] {"config.json", "model.safetensors"}) {
                final byte[] a = Files.readAllBytes(tmp.resolve("one").resolve(model).resolve(file));
                final byte[] b = Files.readAllBytes(tmp.resolve("two").resolve(model).resolve(file));
                assertThat(ModelFiles.sha256(a)).as(model + "/" + file).isEqualTo(ModelFiles.sha256(b));
            }
        }
        final String config = Files.readString(tmp.resolve("one/attention/config.json"));
        assertThat(config).startsWith("{\n  \"architectures\" : [ \"BertModel\" ],\n  \"model_type\" : \"bert\",")
                .contains("\"layer_norm_eps\" : 1.0E-12").endsWith("}\n").doesNotContain("\r");

        final DenseWindowModel dense = DenseWindowModel.load(tmp.resolve("one/dense"));
        assertThat(dense.config()).isEqualTo(DefaultModels.DENSE_CONFIG);
        assertThat(dense.id()).isEqualTo("dense");
        final BertModel bert = BertModel.load(tmp.resolve("one/attention"));
        assertThat(bert.config()).isEqualTo(DefaultModels.ATTENTION_CONFIG);
        assertThat(bert.sha256()).isEqualTo(ModelFiles.sha256(
                Files.readAllBytes(tmp.resolve("two/attention/model.safetensors"))));

        // different inputs give different, unit-length, non-degenerate vectors
        final int[] t1 = Fixtures.tokens(1, 16, 30522);
        final int[] t2 = Fixtures.tokens(2, 16, 30522);
        final float[][] d = dense.embedWindows(new int[][] {t1, t2}, new int[] {16, 16});
        assertThat(norm(d[0])).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(Math.abs(dot(d[0], d[1]))).isLessThan(0.9);
        final float[] a1 = bert.encode(t1, Pooling.MEAN, true);
        final float[] a2 = bert.encode(t2, Pooling.MEAN, true);
        assertThat(norm(a1)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(dot(a1, a2)).isLessThan(0.999);
    }

    @Test
    void gaussianIsDeterministicAndNormal() {
        final DefaultModels.Gaussian a = new DefaultModels.Gaussian(5);
        final DefaultModels.Gaussian b = new DefaultModels.Gaussian(5);
        double s = 0;
        double s2 = 0;
        final int n = 200_000;
        for (int i = 0; i < n; i++) {
            final double x = a.next();
            assertThat(b.next()).isEqualTo(x);
            s += x;
            s2 += x * x;
        }
        assertThat(s / n).isCloseTo(0.0, org.assertj.core.data.Offset.offset(0.01));
        assertThat(s2 / n).isCloseTo(1.0, org.assertj.core.data.Offset.offset(0.02));
    }

    private static double norm(final float[] v) {
        return Math.sqrt(dot(v, v));
    }

    private static double dot(final float[] a, final float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}
