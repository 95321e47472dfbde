package dev.seqembed.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelLoadErrorsTest {
    @TempDir
    Path tmp;

    private static final BertConfig C = new BertConfig(20, 16, 2, 2, 32, Activation.GELU, 8, 2, 1e-12f);
    private static final WindowMlpConfig D = new WindowMlpConfig(20, 2, 3, 2, 4, 3, Activation.RELU, true, 0);

    @Test
    void missingBertTensorIsNamedWithItsShape() throws IOException {
        final Map<String, Tensor> t = Fixtures.bertTensors(C, 1, 0.1, "");
        t.remove("encoder.layer.1.attention.self.query.weight");
        final Path dir = Fixtures.writeBert(tmp.resolve("m"), C, t);
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor encoder.layer.1.attention.self.query.weight")
                .hasMessageContaining("expected shape [16, 16]")
                .hasMessageContaining(dir.resolve("model.safetensors").toString());
    }

    @Test
    void wrongShapeNamesTensorExpectedAndFound() throws IOException {
        final Map<String, Tensor> t = Fixtures.bertTensors(C, 1, 0.1, "bert.");
        t.put("bert.encoder.layer.1.intermediate.dense.weight", new Tensor(new int[] {32, 8}, new float[256]));
        final Path dir = Fixtures.writeBert(tmp.resolve("m"), C, t);
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("bert.encoder.layer.1.intermediate.dense.weight: expected shape [32, 16], "
                        + "found [32, 8] in " + dir.resolve("model.safetensors"));
    }

    @Test
    void wrongDenseShape() throws IOException {
        final Map<String, Tensor> t = Fixtures.denseTensors(D, 1);
        t.put("fc1.weight", new Tensor(new int[] {6, 4}, new float[24]));
        final Path dir = Fixtures.writeDense(tmp.resolve("m"), D, t);
        assertThatThrownBy(() -> DenseWindowModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("fc1.weight: expected shape [4, 6], found [6, 4]");
        t.remove("fc2.bias");
        t.put("fc1.weight", new Tensor(new int[] {4, 6}, new float[24]));
        Fixtures.writeDense(dir, D, t);
        assertThatThrownBy(() -> DenseWindowModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor fc2.bias: expected shape [3]");
    }

    @Test
    void badDtypeInAModel() throws IOException {
        final Map<String, Tensor> t = Fixtures.denseTensors(D, 1);
        final Path dir = Fixtures.writeDense(tmp.resolve("m"), D, t);
        // rewrite the file's header: fc2.bias claims F64 (8 bytes/elt: 3 elts = 24 bytes would not fit; use I32)
        final Path f = dir.resolve("model.safetensors");
        final String s = new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1);
        final String patched = s.replace("\"fc2.bias\":{\"dtype\":\"F32\"", "\"fc2.bias\":{\"dtype\":\"I32\"");
        Files.write(f, patched.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> DenseWindowModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("fc2.bias").hasMessageContaining("I32");
    }

    @Test
    void configProblems() throws IOException {
        final Path dir = Fixtures.writeBert(tmp.resolve("m"), C, Fixtures.bertTensors(C, 1, 0.1, ""));
        final Path config = dir.resolve("config.json");
        // wrong model kind for the loader
        assertThatThrownBy(() -> DenseWindowModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("model_type is \"bert\", expected \"window-mlp\"");
        final ObjectNode json = ModelFiles.configJson(C);
        json.put("model_type", "gpt2");
        ModelFiles.writeJson(config, json);
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("\"gpt2\"").hasMessageContaining("expected \"bert\"");
        final ObjectNode noHidden = ModelFiles.configJson(C);
        noHidden.remove("hidden_size");
        ModelFiles.writeJson(config, noHidden);
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing config key hidden_size");
        final ObjectNode approxGelu = ModelFiles.configJson(C);
        approxGelu.put("hidden_act", "gelu_new");
        ModelFiles.writeJson(config, approxGelu);
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("gelu_new");
        final ObjectNode badHeads = ModelFiles.configJson(C);
        badHeads.put("num_attention_heads", 3);
        ModelFiles.writeJson(config, badHeads);
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("num_attention_heads 3");
        Files.writeString(config, "{not json");
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("invalid JSON");
        Files.delete(config);
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing config.json");
        ModelFiles.writeJson(config, ModelFiles.configJson(C));
        Files.delete(dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> BertModel.load(dir)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing model.safetensors");
        assertThatThrownBy(() -> BertModel.load(tmp.resolve("nowhere"))).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("model directory not found");
    }

    @Test
    void layerNormEpsDefaultsWhenAbsent() throws IOException {
        final Path dir = Fixtures.writeBert(tmp.resolve("m"), C, Fixtures.bertTensors(C, 1, 0.1, ""));
        final ObjectNode json = ModelFiles.configJson(C);
        json.remove("layer_norm_eps");
        json.put("layer_norm_eps_unused", 1);
        ModelFiles.writeJson(dir.resolve("config.json"), json);
        org.assertj.core.api.Assertions.assertThat(BertModel.load(dir).config().layerNormEps()).isEqualTo(1e-12f);
    }
}
