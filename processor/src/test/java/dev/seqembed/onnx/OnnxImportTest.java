package dev.seqembed.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.seqembed.cli.Main;
import dev.seqembed.model.Activation;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.BertTensors;
import dev.seqembed.model.Pooling;
import dev.seqembed.model.SafeTensors;
import dev.seqembed.model.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code import-onnx} on small graphs built here byte by byte, shaped like PyTorch's export of a Hugging Face
 * BERT ({@link SyntheticBertExport}): every tensor lands under its Hugging Face name with the exact values (dense
 * weights transposed back), the config comes from the graph, and graphs that do not map fail with exit 2 and a
 * one-line message naming what is missing.
 */
class OnnxImportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Two layers, two heads of 4, intermediate 16, 10 positions. */
    private static final BertConfig SMALL = new BertConfig(23, 8, 2, 2, 16, Activation.GELU, 10, 2, 1e-7f);

    @TempDir
    Path tmp;

    @Test
    void torchStyleExportMapsToTheHuggingFaceLayoutExactly() throws IOException {
        final SyntheticBertExport.Export export = SyntheticBertExport.write(SMALL,
                SyntheticBertExport.Variant.torchExport(1e-7f), 1);
        final Path onnx = write("model.onnx", export.onnx());
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\":{\"type\":\"WordPiece\"}}");
        final Path out = tmp.resolve("out");

        final Cli r = cli("import-onnx", "--input", onnx.toString(), "--out", out.toString());

        assertThat(r.exit).as(r.err).isZero();
        assertThat(r.out).contains("2 layers").contains("2 heads (from the graph's Reshape)")
                .contains("tokenizer.json copied");
        final JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertThat(config.get("model_type").asText()).isEqualTo("bert");
        assertThat(config.get("num_attention_heads").asInt()).isEqualTo(2);
        assertThat(config.get("intermediate_size").asInt()).isEqualTo(16);
        assertThat(config.get("max_position_embeddings").asInt()).isEqualTo(10);
        assertThat(config.get("vocab_size").asInt()).isEqualTo(23);
        assertThat(config.get("hidden_act").asText()).isEqualTo("gelu");
        assertThat((float) config.get("layer_norm_eps").asDouble()).isEqualTo(1e-7f);
        assertThat(out.resolve("tokenizer.json")).hasContent("{\"model\":{\"type\":\"WordPiece\"}}");
        assertSameTensors(out, export.tensors(), "");
    }

    @Test
    void importedModelLoadsAndComputes() throws IOException {
        final SyntheticBertExport.Export export = SyntheticBertExport.write(SMALL,
                SyntheticBertExport.Variant.torchExport(1e-7f), 2);
        final Path out = tmp.resolve("out");
        OnnxImporter.importModel(write("m.onnx", export.onnx()), out, null);
        final BertModel model = BertModel.load(out);
        assertThat(model.config()).isEqualTo(SMALL);
        assertThat(model.encode(new int[] {1, 5, 22}, Pooling.MEAN, true)).hasSize(8);
    }

    @Test
    void jarWithFusedLayerNormPrefixAndConstantShapes() throws IOException {
        final SyntheticBertExport.Export export = SyntheticBertExport.write(SMALL,
                SyntheticBertExport.Variant.torchExport(3e-6f).withFusedLayerNorm().withPrefix("bert.")
                        .withConstantReshape().withActivation("gelu-op"), 3);
        final Path jar = tmp.resolve("model.jar");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(jar))) {
            entry(z, "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n".getBytes(StandardCharsets.UTF_8));
            entry(z, "small-bert.onnx", export.onnx());
            entry(z, "small-bert-tokenizer.json", "{}".getBytes(StandardCharsets.UTF_8));
        }
        final Path out = tmp.resolve("out");
        final OnnxImporter.Result r = OnnxImporter.importModel(jar, out, null);
        assertThat(r.source()).endsWith("model.jar!/small-bert.onnx");
        assertThat(r.tokenizerCopied()).isTrue();
        assertThat(r.model().config().layerNormEps()).isEqualTo(3e-6f);
        assertThat(r.model().config().numAttentionHeads()).isEqualTo(2);
        assertThat(r.model().dropped()).contains("bert.embeddings.position_ids");
        assertThat(out.resolve("tokenizer.json")).hasContent("{}");
        assertSameTensors(out, export.tensors(), "bert.");
    }

    @Test
    void headsFromTheFlagWhenTheGraphHasNoReshape() throws IOException {
        final Path onnx = write("m.onnx", SyntheticBertExport.write(SMALL,
                SyntheticBertExport.Variant.torchExport(1e-12f).withoutReshape(), 4).onnx());
        final Cli refused = cli("import-onnx", "--input", onnx.toString(), "--out", tmp.resolve("a").toString());
        assertThat(refused.exit).isEqualTo(2);
        assertThat(refused.errLines()).singleElement().asString()
                .contains("cannot tell num_attention_heads").contains("--heads N");
        final Cli given = cli("import-onnx", "--input", onnx.toString(), "--out", tmp.resolve("b").toString(),
                "--heads", "4");
        assertThat(given.exit).as(given.err).isZero();
        assertThat(given.out).contains("4 heads (from --heads)");
        assertThat(JSON.readTree(tmp.resolve("b/config.json").toFile()).get("num_attention_heads").asInt())
                .isEqualTo(4);
    }

    @Test
    void aDenseWeightWithoutItsBiasNamedAddFailsWithExitTwoNamingTheTensor() throws IOException {
        final Path onnx = write("m.onnx", SyntheticBertExport.write(SMALL,
                SyntheticBertExport.Variant.torchExport(1e-12f).withBrokenBias(BertTensors.VALUE), 5).onnx());
        final Path out = tmp.resolve("out");
        final Cli r = cli("import-onnx", "--input", onnx.toString(), "--out", out.toString());
        assertThat(r.exit).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("seqembed import-onnx: ")
                .contains("missing tensor encoder.layer.0.attention.self.value.weight [8, 8]")
                .contains("encoder.layer.0.attention.self.value.bias")
                .doesNotContain("Exception");
        assertThat(out).doesNotExist();
    }

    @Test
    void anApproximateGeluIsRefusedRatherThanImportedAsExact() throws IOException {
        final Path onnx = write("m.onnx", SyntheticBertExport.write(SMALL,
                SyntheticBertExport.Variant.torchExport(1e-12f).withActivation("tanh-approx"), 6).onnx());
        final Cli r = cli("import-onnx", "--input", onnx.toString(), "--out", tmp.resolve("out").toString());
        assertThat(r.exit).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().contains("Tanh").contains("not one of gelu (erf form)");
        final Path relu = write("relu.onnx", SyntheticBertExport.write(SMALL,
                SyntheticBertExport.Variant.torchExport(1e-12f).withActivation("relu"), 6).onnx());
        assertThat(cli("import-onnx", "--input", relu.toString(), "--out", tmp.resolve("relu").toString()).exit)
                .isZero();
        assertThat(JSON.readTree(tmp.resolve("relu/config.json").toFile()).get("hidden_act").asText())
                .isEqualTo("relu");
    }

    @Test
    void inputsThatAreNotOneOnnxModelFailWithExitTwo() throws IOException {
        final byte[] onnx = SyntheticBertExport.write(SMALL, SyntheticBertExport.Variant.torchExport(1e-12f), 7).onnx();
        final Path two = tmp.resolve("two.jar");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(two))) {
            entry(z, "a.onnx", onnx);
            entry(z, "b.onnx", onnx);
        }
        final Path none = tmp.resolve("none.zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(none))) {
            entry(z, "README", new byte[] {1});
        }
        final Path garbage = write("garbage.onnx", "this is not protobuf\n".getBytes(StandardCharsets.UTF_8));
        final Path notBert = write("empty-graph.onnx", new OnnxModelWriter().output("y").build());
        final Map<Path, String> expected = Map.of(
                two, "holds 2 .onnx files",
                none, "holds 0 .onnx files",
                garbage, "is not a readable ONNX model",
                notBert, "no initializer named embeddings.word_embeddings.weight",
                tmp.resolve("missing.onnx"), "missing.onnx");
        for (final Map.Entry<Path, String> e : expected.entrySet()) {
            final Cli r = cli("import-onnx", "--input", e.getKey().toString(), "--out", tmp.resolve("o").toString());
            assertThat(r.exit).as(e.getKey().toString()).isEqualTo(2);
            assertThat(r.errLines()).as(e.getKey().toString()).singleElement().asString().contains(e.getValue());
        }
    }

    private void assertSameTensors(final Path out, final Map<String, Tensor> expected, final String prefix)
            throws IOException {
        final SafeTensors written = SafeTensors.read(out.resolve("model.safetensors"));
        assertThat(written.names()).containsExactlyInAnyOrderElementsOf(
                expected.keySet().stream().map(k -> prefix + k).toList());
        for (final Map.Entry<String, Tensor> e : expected.entrySet()) {
            assertThat(written.dtype(prefix + e.getKey())).isEqualTo(SafeTensors.DType.F32);
            assertThat(written.get(prefix + e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
        }
    }

    private Path write(final String name, final byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    private static void entry(final ZipOutputStream z, final String name, final byte[] bytes) throws IOException {
        z.putNextEntry(new ZipEntry(name));
        z.write(bytes);
        z.closeEntry();
    }

    private record Cli(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    /** Runs the command line in-process, capturing System.out (the summary) and picocli's error writer. */
    private static Cli cli(final String... args) {
        final StringWriter err = new StringWriter();
        final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        final java.io.PrintStream old = System.out;
        final int exit;
        try {
            System.setOut(new java.io.PrintStream(out, true, StandardCharsets.UTF_8));
            final picocli.CommandLine cl = Main.commandLine();
            cl.setErr(new PrintWriter(err, true));
            exit = cl.execute(args);
        } finally {
            System.setOut(old);
        }
        return new Cli(exit, out.toString(StandardCharsets.UTF_8), err.toString());
    }
}
