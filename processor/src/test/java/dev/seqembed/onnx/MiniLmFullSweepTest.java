package dev.seqembed.onnx;

import dev.seqembed.model.BertModel;
import dev.seqembed.testing.MiniLm;
import dev.seqembed.testing.OnnxRuntimeEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Every length from 1 to 512 of the imported all-MiniLM-L6-v2 against ONNX Runtime (about a minute on two
 * cores, so not in the default build): run with {@code mvn -B -pl processor -Ppeer-bench verify}, or alone with
 * {@code mvn -B -pl processor test -Dtest=MiniLmFullSweepTest -Dseqembed.full-sweep=true}.
 */
@EnabledIfSystemProperty(named = "seqembed.full-sweep", matches = "true")
class MiniLmFullSweepTest {

    @Test
    void everyLengthFromOneTo512EqualsOnnxRuntime() throws Exception {
        final BertModel model = BertModel.load(MiniLm.importedDir());
        try (OnnxRuntimeEncoder peer = new OnnxRuntimeEncoder(MiniLm.onnxBytes(), 2)) {
            for (int length = 1; length <= model.config().maxPositionEmbeddings(); length++) {
                MiniLmOnnxRuntimeFidelityTest.assertSame(model, peer, MiniLm.tokens(7 * length, length),
                        "T=" + length);
            }
        }
    }
}
