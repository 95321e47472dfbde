package dev.seqembed.onnx;

import dev.seqembed.model.BertConfig;
import dev.seqembed.model.Tensor;

import java.util.List;
import java.util.Map;

/**
 * An ONNX BERT graph mapped to SPEC §4.2: the config and the tensors under their Hugging Face names, plus what
 * the import had to decide, for the command's summary.
 *
 * @param config       the model configuration
 * @param tensors      float32 tensors by Hugging Face name (dense weights {@code [out, in]})
 * @param headsFrom    where num_attention_heads came from ("--heads" or "the graph's Reshape")
 * @param epsFrom      where layer_norm_eps came from
 * @param dropped      initializers not written (integer buffers such as position_ids, anonymous constants)
 */
public record BertImport(BertConfig config, Map<String, Tensor> tensors, String headsFrom, String epsFrom,
                         List<String> dropped) {
}
