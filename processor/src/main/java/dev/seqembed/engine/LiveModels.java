package dev.seqembed.engine;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;

/**
 * The models the processors compute with while they may be replaced (SPEC §10.5): the current dense and
 * attention model, and the previous attention model as long as open sequences were started on it. Processors
 * read it on every batch or sequence start; only the model watcher replaces models. Offline {@code embed} and
 * tests use one that nobody replaces.
 *
 * <p>Memory is bounded to two attention models: a third one is not loaded while the previous one still has
 * open sequences (the watcher retries on each poll; idle eviction bounds the wait).
 */
public final class LiveModels {

    private volatile DenseWindowModel dense;
    private volatile BertModel attention;
    private volatile BertModel previousAttention;
    private final Map<String, ModelUsage> usages = new ConcurrentHashMap<>();

    public LiveModels(final DenseWindowModel dense, final BertModel attention) {
        this.dense = dense;
        this.attention = attention;
    }

    /** The dense model for the next batch. */
    public DenseWindowModel dense() {
        return dense;
    }

    /** The attention model for a new sequence. */
    public BertModel attention() {
        return attention;
    }

    /** The loaded attention model with this SHA-256 (current or previous), or null: not (or no longer) loaded. */
    public BertModel attention(final String sha256) {
        final BertModel current = attention;
        if (sha256 == null) {
            return null;
        }
        if (current.sha256().equals(sha256)) {
            return current;
        }
        final BertModel previous = previousAttention;
        return previous != null && previous.sha256().equals(sha256) ? previous : null;
    }

    /** The replaced attention model still kept for open sequences, or null. */
    public BertModel previousAttention() {
        return previousAttention;
    }

    /**
     * A fresh usage record for one processor instance ({@code owner} = processor and task), replacing any an
     * earlier instance of the same task left behind. {@link ModelUsage#close()} releases it.
     */
    public ModelUsage usage(final String owner) {
        final ModelUsage usage = new ModelUsage(this, owner);
        usages.put(owner, usage);
        return usage;
    }

    /** Drops {@code usage}, unless a newer instance of the same task has replaced it meanwhile. */
    void release(final String owner, final ModelUsage usage) {
        usages.remove(owner, usage);
    }

    /** Open sequences (of this instance's tasks) started on the model with this SHA-256. */
    public long sequencesOn(final String sha256) {
        return usages.values().stream().mapToLong(u -> u.sequencesOn(sha256)).sum();
    }

    /** The next dense batch uses {@code model}. */
    public synchronized void replaceDense(final DenseWindowModel model) {
        dense = model;
    }

    /**
     * New sequences use {@code model}; the current one becomes the previous one, kept for its open sequences.
     *
     * @throws IllegalStateException when a previous model is still kept (retire it first: at most two loaded)
     */
    public synchronized void replaceAttention(final BertModel model) {
        if (previousAttention != null) {
            throw new IllegalStateException("previous attention model " + previousAttention.sha256()
                    + " is still loaded; retire it before replacing the current one");
        }
        previousAttention = attention;
        attention = model;
    }

    /** Drops the previous attention model if no open sequence needs it; returns it, or null if kept or none. */
    public synchronized BertModel retirePreviousIfUnused() {
        final BertModel previous = previousAttention;
        if (previous == null || sequencesOn(previous.sha256()) > 0) {
            return null;
        }
        previousAttention = null;
        return previous;
    }
}
