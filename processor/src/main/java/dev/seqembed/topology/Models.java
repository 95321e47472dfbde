package dev.seqembed.topology;

import java.io.IOException;
import java.nio.file.Path;

import dev.seqembed.engine.LiveModels;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;

/**
 * The two loaded models the processor runs.
 *
 * @param dense the window MLP of the dense path
 * @param attention the BERT encoder of the attention path
 */
public record Models(DenseWindowModel dense, BertModel attention) {

    /** Loads both model directories; fails with a message naming the bad file or tensor. */
    public static Models load(final Path denseDir, final Path attentionDir) throws IOException {
        return new Models(DenseWindowModel.load(denseDir), BertModel.load(attentionDir));
    }

    /** A holder of these models for the processors; nobody replaces them unless a model watcher does. */
    public LiveModels live() {
        return new LiveModels(dense, attention);
    }
}
