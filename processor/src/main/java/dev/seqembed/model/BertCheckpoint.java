package dev.seqembed.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a BERT model directory (SPEC §4.2): config.json in Hugging Face form and model.safetensors in F32, the
 * same layout {@link BertModel#load} reads. For converters that bring weights from elsewhere (import-onnx).
 */
public final class BertCheckpoint {
    private BertCheckpoint() {
    }

    /** Writes {@code dir/config.json} for {@code config} and {@code dir/model.safetensors} with {@code tensors}. */
    public static void write(final Path dir, final BertConfig config, final Map<String, Tensor> tensors)
            throws IOException {
        DefaultModels.writeModel(dir, config, tensors, SafeTensors.DType.F32);
    }
}
