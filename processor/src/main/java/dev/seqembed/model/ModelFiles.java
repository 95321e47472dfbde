package dev.seqembed.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/** Reading and writing the Hugging Face model-directory layout: config.json + model.safetensors. */
final class ModelFiles {
    static final String CONFIG = "config.json";
    static final String WEIGHTS = "model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFiles() {
    }

    /** A model directory's parsed config and tensors. */
    record Loaded(Path dir, Path configFile, JsonNode config, Path weightsFile, SafeTensors tensors, String sha256) {
        String id() {
            final Path name = dir.toAbsolutePath().normalize().getFileName();
            return name == null ? dir.toString() : name.toString();
        }

        int requireInt(final String key) throws ModelLoadException {
            final JsonNode n = config.get(key);
            if (n == null || n.isNull()) {
                throw new ModelLoadException(configFile + ": missing config key " + key);
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new ModelLoadException(configFile + ": config key " + key + " must be an integer, found " + n);
            }
            return n.intValue();
        }

        String requireString(final String key) throws ModelLoadException {
            final JsonNode n = config.get(key);
            if (n == null || n.isNull()) {
                throw new ModelLoadException(configFile + ": missing config key " + key);
            }
            if (!n.isTextual()) {
                throw new ModelLoadException(configFile + ": config key " + key + " must be a string, found " + n);
            }
            return n.textValue();
        }

        boolean requireBoolean(final String key) throws ModelLoadException {
            final JsonNode n = config.get(key);
            if (n == null || n.isNull()) {
                throw new ModelLoadException(configFile + ": missing config key " + key);
            }
            if (!n.isBoolean()) {
                throw new ModelLoadException(configFile + ": config key " + key + " must be true or false, found " + n);
            }
            return n.booleanValue();
        }

        double optionalDouble(final String key, final double fallback) throws ModelLoadException {
            final JsonNode n = config.get(key);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isNumber()) {
                throw new ModelLoadException(configFile + ": config key " + key + " must be a number, found " + n);
            }
            return n.doubleValue();
        }

        Activation activation(final String key) throws ModelLoadException {
            final String v = requireString(key);
            try {
                return Activation.fromConfig(v);
            } catch (final IllegalArgumentException e) {
                throw new ModelLoadException(configFile + ": " + e.getMessage());
            }
        }

        /** The tensor, checked against the expected shape. */
        Tensor tensor(final String name, final int... shape) throws ModelLoadException {
            final String badDtype = tensors.unsupportedDtype(name);
            if (badDtype != null) {
                throw new ModelLoadException(tensors.unsupportedMessage(name, badDtype));
            }
            final Tensor t = tensors.get(name);
            if (t == null) {
                throw new ModelLoadException("missing tensor " + name + ": expected shape " + Arrays.toString(shape)
                        + " in " + weightsFile);
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new ModelLoadException(name + ": expected shape " + Arrays.toString(shape) + ", found "
                        + t.shapeString() + " in " + weightsFile);
            }
            return t;
        }
    }

    /** Loads config.json and model.safetensors of {@code dir}, checking {@code model_type}. */
    static Loaded load(final Path dir, final String modelType) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("model directory not found: " + dir);
        }
        final Path configFile = dir.resolve(CONFIG);
        final Path weightsFile = dir.resolve(WEIGHTS);
        final JsonNode config;
        try {
            config = JSON.readTree(Files.readAllBytes(configFile));
        } catch (final NoSuchFileException e) {
            throw new ModelLoadException("missing " + CONFIG + " in model directory " + dir, e);
        } catch (final JsonProcessingException e) {
            throw new ModelLoadException(configFile + ": invalid JSON: " + e.getOriginalMessage(), e);
        }
        if (config == null || !config.isObject()) {
            throw new ModelLoadException(configFile + ": not a JSON object");
        }
        final JsonNode type = config.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new ModelLoadException(configFile + ": missing config key model_type (expected \"" + modelType + "\")");
        }
        if (!modelType.equals(type.textValue())) {
            throw new ModelLoadException(configFile + ": model_type is \"" + type.textValue() + "\", expected \""
                    + modelType + "\"");
        }
        final byte[] bytes;
        try {
            bytes = Files.readAllBytes(weightsFile);
        } catch (final NoSuchFileException e) {
            throw new ModelLoadException("missing " + WEIGHTS + " in model directory " + dir, e);
        }
        final SafeTensors tensors = SafeTensors.parse(bytes, weightsFile.toString());
        return new Loaded(dir, configFile, config, weightsFile, tensors, sha256(bytes));
    }

    static String sha256(final byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (final NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** config.json of a window model, keys in a fixed order. */
    static ObjectNode configJson(final WindowMlpConfig c) {
        final ObjectNode n = JSON.createObjectNode();
        n.put("model_type", "window-mlp");
        n.put("vocab_size", c.vocabSize());
        n.put("embed_dim", c.embedDim());
        n.put("window", c.window());
        n.put("stride", c.stride());
        n.put("hidden_size", c.hiddenSize());
        n.put("output_size", c.outputSize());
        n.put("hidden_act", c.hiddenAct().configName());
        n.put("normalize", c.normalize());
        n.put("pad_token_id", c.padTokenId());
        return n;
    }

    /** config.json of a BERT model in Hugging Face form, keys in a fixed order. */
    static ObjectNode configJson(final BertConfig c) {
        final ObjectNode n = JSON.createObjectNode();
        n.putArray("architectures").add("BertModel");
        n.put("model_type", "bert");
        n.put("vocab_size", c.vocabSize());
        n.put("hidden_size", c.hiddenSize());
        n.put("num_hidden_layers", c.numHiddenLayers());
        n.put("num_attention_heads", c.numAttentionHeads());
        n.put("intermediate_size", c.intermediateSize());
        n.put("hidden_act", c.hiddenAct().configName());
        n.put("max_position_embeddings", c.maxPositionEmbeddings());
        n.put("type_vocab_size", c.typeVocabSize());
        // Written as a double so 1e-12 reads back as 1e-12 (a float would print as 9.999999960041972E-13).
        n.put("layer_norm_eps", Double.parseDouble(Float.toString(c.layerNormEps())));
        n.put("position_embedding_type", "absolute");
        return n;
    }

    /** Writes JSON pretty-printed with '\n' line ends and a final newline: the same bytes on every platform. */
    static void writeJson(final Path file, final JsonNode node) throws IOException {
        final DefaultPrettyPrinter pp = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"));
        final String text = JSON.writer(pp).writeValueAsString(node) + "\n";
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, text.getBytes(StandardCharsets.UTF_8));
    }
}
