package dev.seqembed.engine;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which model each open sequence of one processor (one task) was started on, so that {@link LiveModels}
 * keeps a replaced model loaded until no sequence needs it. Written by the processor's stream thread, read by
 * the model watcher.
 */
public final class ModelUsage {

    private final Map<String, String> modelBySequence = new ConcurrentHashMap<>();
    private final LiveModels models;
    private final String owner;

    ModelUsage(final LiveModels models, final String owner) {
        this.models = models;
        this.owner = owner;
    }

    /**
     * The processor instance is closed: its sequences no longer hold a model. A task that moved to another
     * stream thread may have opened its new record first; that one stays.
     */
    public void close() {
        models.release(owner, this);
    }

    /** The sequence holds state built by (or waiting for) the model with this SHA-256; null = unknown. */
    public void started(final String sequenceId, final String modelSha256) {
        if (modelSha256 == null) {
            modelBySequence.remove(sequenceId);
        } else {
            modelBySequence.put(sequenceId, modelSha256);
        }
    }

    /** The sequence's state is gone (finished, aborted, evicted or closed). */
    public void ended(final String sequenceId) {
        modelBySequence.remove(sequenceId);
    }

    /** Open sequences started on the model with this SHA-256. */
    long sequencesOn(final String modelSha256) {
        return modelBySequence.values().stream().filter(modelSha256::equals).count();
    }
}
