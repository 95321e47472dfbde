package dev.seqembed.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.metrics.ModelMetrics;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.engine.LiveModels;

/**
 * Model hot swap for {@code run} (SPEC §10.5): polls the dense and attention model directories on one daemon
 * thread, loads a changed model there (never on a stream thread) and hands it to {@link LiveModels}, where it
 * takes over at sequence boundaries.
 *
 * <p>A poll first compares size and modification time of config.json and model.safetensors; a directory whose
 * files changed is loaded once they looked the same on two polls in a row (a copy in progress is not loaded
 * half-written). The loaded weights' SHA-256 names the model: same weights and config as the running model is
 * no change. A model that fails to load, or that the running topology cannot take (another vocabulary, window
 * geometry or number of positions: the windower and the validator were built for those), is refused with one
 * log line and {@code seqembed_model_load_failures_total}, and the running model keeps serving; the same files
 * are not tried again until they change.
 *
 * <p>A replaced attention model stays loaded while open sequences were started on it, and is retired on the
 * first poll that finds none. A third attention model is not loaded while that previous one is kept: at most
 * two are in memory; it is loaded on the first poll after the old sequences finished or were evicted.
 */
public final class ModelWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ModelWatcher.class);
    private static final String CONFIG = "config.json";
    private static final String WEIGHTS = "model.safetensors";

    private final LiveModels models;
    private final ModelMetrics metrics;
    private final Watched dense;
    private final Watched attention;
    private ScheduledExecutorService thread;

    /** Size, modification time and file key (inode) of one file; all null/-1 when it is missing. */
    private record FileStamp(long size, long modifiedNanos, Object key) {
        static FileStamp of(final Path file) {
            try {
                final BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                return new FileStamp(a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS), a.fileKey());
            } catch (final IOException e) {
                return new FileStamp(-1, -1, null);
            }
        }
    }

    /** The cheap change check of a model directory: the stamps of its two files. */
    private record Fingerprint(FileStamp config, FileStamp weights) {
        static Fingerprint of(final Path dir) {
            return new Fingerprint(FileStamp.of(dir.resolve(CONFIG)), FileStamp.of(dir.resolve(WEIGHTS)));
        }
    }

    /** What the watcher knows about one directory. */
    private static final class Watched {
        final Path dir;
        final String path;
        Fingerprint applied;
        Fingerprint seen;
        Fingerprint refused;
        Fingerprint waitingLogged;
        String configSha256;

        Watched(final Path dir) {
            this.dir = dir;
            this.path = dir.toAbsolutePath().normalize().toString();
            this.applied = Fingerprint.of(dir);
            this.seen = applied;
            this.configSha256 = configSha256(dir);
        }
    }

    /** Watches the directories the running models were loaded from; registers them in {@code metrics}. */
    public ModelWatcher(final LiveModels models, final Path denseDir, final Path attentionDir,
                        final ModelMetrics metrics) {
        this.models = models;
        this.metrics = metrics;
        this.dense = new Watched(denseDir);
        this.attention = new Watched(attentionDir);
        metrics.inUse(dense.path, models.dense().sha256());
        metrics.inUse(attention.path, models.attention().sha256());
    }

    /** Polls every {@code intervalMs} on a daemon thread of its own. */
    public synchronized void start(final long intervalMs) {
        thread = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "seqembed-model-watcher");
            t.setDaemon(true);
            return t;
        });
        thread.scheduleWithFixedDelay(() -> {
            try {
                poll();
            } catch (final RuntimeException e) {
                // Never let one bad poll end the watcher: the next one tries again.
                LOG.warn("model watcher: poll failed: {}", e.toString());
            }
        }, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
        LOG.info("watching models {} and {} every {} ms", dense.path, attention.path, intervalMs);
    }

    /** One poll of both directories: the watcher thread's work, also called directly by tests. */
    public synchronized void poll() {
        final BertModel retired = models.retirePreviousIfUnused();
        if (retired != null) {
            metrics.retired(attention.path, retired.sha256());
            LOG.info("attention model {} ({}) retired: no open sequence uses it", retired.id(), short12(retired.sha256()));
        }
        pollDense();
        pollAttention();
    }

    private void pollDense() {
        final Fingerprint fp = settledChange(dense);
        if (fp == null) {
            return;
        }
        final DenseWindowModel current = models.dense();
        final DenseWindowModel candidate;
        try {
            candidate = DenseWindowModel.load(dense.dir);
        } catch (final IOException | RuntimeException e) {
            refuse(dense, fp, current.sha256(), e.getMessage());
            return;
        }
        final String configSha = configSha256(dense.dir);
        if (!takes(dense, fp, current.sha256(), candidate.sha256(), configSha,
                denseIncompatibility(current.config(), candidate.config()))) {
            return;
        }
        models.replaceDense(candidate);
        metrics.inUse(dense.path, candidate.sha256());
        metrics.retired(dense.path, current.sha256());
        applied(dense, fp, configSha);
        LOG.info("dense model swapped: {} ({}) replaces {}; the next batch uses it", candidate.id(),
                short12(candidate.sha256()), short12(current.sha256()));
    }

    private void pollAttention() {
        final Fingerprint fp = settledChange(attention);
        if (fp == null) {
            return;
        }
        final BertModel previous = models.previousAttention();
        if (previous != null) {
            if (!fp.equals(attention.waitingLogged)) {
                attention.waitingLogged = fp;
                LOG.info("attention model in {} changed; loading it once the {} open sequences on {} have finished",
                        attention.path, models.sequencesOn(previous.sha256()), short12(previous.sha256()));
            }
            return;
        }
        final BertModel current = models.attention();
        final BertModel candidate;
        try {
            candidate = BertModel.load(attention.dir);
        } catch (final IOException | RuntimeException e) {
            refuse(attention, fp, current.sha256(), e.getMessage());
            return;
        }
        final String configSha = configSha256(attention.dir);
        if (!takes(attention, fp, current.sha256(), candidate.sha256(), configSha,
                attentionIncompatibility(current.config(), candidate.config()))) {
            return;
        }
        models.replaceAttention(candidate);
        metrics.inUse(attention.path, candidate.sha256());
        applied(attention, fp, configSha);
        LOG.info("attention model swapped: {} ({}) replaces {} for new sequences; open ones finish on it",
                candidate.id(), short12(candidate.sha256()), short12(current.sha256()));
    }

    /** The directory's fingerprint if it changed and then held still for a poll; else null. */
    private static Fingerprint settledChange(final Watched w) {
        final Fingerprint fp = Fingerprint.of(w.dir);
        final boolean settled = fp.equals(w.seen);
        w.seen = fp;
        if (fp.equals(w.applied) || fp.equals(w.refused) || !settled) {
            return null;
        }
        return fp;
    }

    /**
     * Whether the candidate should be swapped in. If not, the files are marked as handled: the same model
     * again (no change), only config.json changed (refused), or incompatible (refused).
     */
    private boolean takes(final Watched w, final Fingerprint fp, final String currentSha, final String candidateSha,
                          final String configSha, final String incompatible) {
        if (candidateSha.equals(currentSha)) {
            if (configSha != null && configSha.equals(w.configSha256)) {
                applied(w, fp, configSha);
            } else {
                refuse(w, fp, currentSha, "config.json changed but model.safetensors did not; a model is named by"
                        + " the sha256 of its weights, so replace model.safetensors to swap");
            }
            return false;
        }
        if (incompatible != null) {
            refuse(w, fp, currentSha, incompatible);
            return false;
        }
        return true;
    }

    private void refuse(final Watched w, final Fingerprint fp, final String currentSha, final String why) {
        w.refused = fp;
        metrics.loadFailure(w.path);
        LOG.warn("model in {} refused, {} keeps serving: {}", w.path, short12(currentSha), why);
    }

    private static void applied(final Watched w, final Fingerprint fp, final String configSha) {
        w.applied = fp;
        w.refused = null;
        w.configSha256 = configSha;
    }

    /** Why the running topology cannot take the dense candidate, or null. */
    static String denseIncompatibility(final WindowMlpConfig current, final WindowMlpConfig candidate) {
        if (current.vocabSize() != candidate.vocabSize() || current.window() != candidate.window()
                || current.stride() != candidate.stride() || current.padTokenId() != candidate.padTokenId()) {
            return "vocab_size, window, stride and pad_token_id must stay " + current.vocabSize() + ", "
                    + current.window() + ", " + current.stride() + ", " + current.padTokenId() + " (found "
                    + candidate.vocabSize() + ", " + candidate.window() + ", " + candidate.stride() + ", "
                    + candidate.padTokenId() + "): the windower and validator were built for them; restart to change";
        }
        return null;
    }

    /** Why the running topology cannot take the attention candidate, or null. */
    static String attentionIncompatibility(final BertConfig current, final BertConfig candidate) {
        if (current.vocabSize() != candidate.vocabSize()
                || current.maxPositionEmbeddings() != candidate.maxPositionEmbeddings()) {
            return "vocab_size and max_position_embeddings must stay " + current.vocabSize() + " and "
                    + current.maxPositionEmbeddings() + " (found " + candidate.vocabSize() + " and "
                    + candidate.maxPositionEmbeddings() + "): the validator was built for them; restart to change";
        }
        return null;
    }

    private static String configSha256(final Path dir) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(Files.readAllBytes(dir.resolve(CONFIG))));
        } catch (final IOException e) {
            return null;
        } catch (final NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String short12(final String sha) {
        return sha.length() > 12 ? sha.substring(0, 12) : sha;
    }

    @Override
    public synchronized void close() {
        if (thread != null) {
            thread.shutdownNow();
        }
    }
}
