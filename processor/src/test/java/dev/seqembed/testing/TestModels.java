package dev.seqembed.testing;

import java.io.IOException;
import java.nio.file.Path;

import dev.seqembed.model.Activation;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.DefaultModels;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.topology.Models;

/** Small seeded models for topology and integration tests: fast, but every code path of the real ones. */
public final class TestModels {

    /** Window 4, stride 2: windows overlap and span chunk boundaries with short sequences. */
    public static final WindowMlpConfig DENSE = new WindowMlpConfig(200, 8, 4, 2, 16, 8, Activation.GELU, true, 0);

    /** Two layers, two heads, 64 positions. */
    public static final BertConfig BERT = new BertConfig(200, 16, 2, 2, 32, Activation.GELU, 64, 2, 1e-12f);

    private TestModels() {
    }

    /** Writes both models under {@code dir} and loads them. */
    public static Models write(final Path dir) throws IOException {
        DefaultModels.writeDense(dir.resolve("dense"), DENSE, 7);
        DefaultModels.writeBert(dir.resolve("attention"), BERT, 11);
        return Models.load(dir.resolve("dense"), dir.resolve("attention"));
    }
}
