package dev.seqembed.platform;


import org.apache.kafka.streams.StreamsConfig;

import dev.seqembed.config.Role;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.platform.BlasKernel;

/**
 * Process-wide native settings, made before any native library loads: the JavaCPP cache directory (under the
 * user's cache unless {@code -Dorg.bytedeco.javacpp.cachedir} is given), the BLAS kernel and the number of
 * native math threads ({@link BlasKernel}).
 */
public final class NativeSetup {

    private static final String CACHEDIR = "org.bytedeco.javacpp.cachedir";

    private NativeSetup() {
    }

    /** Sets the JavaCPP cache directory unless the user chose one. */
    public static synchronized void cacheDir() {
        if (System.getProperty(CACHEDIR) == null) {
            System.setProperty(CACHEDIR, UserDirs.cacheRoot().resolve("javacpp").toString());
        }
    }

    /**
     * Sizes the model threads next to the stream threads so they do not oversubscribe the cores: each stream
     * thread of each Kafka Streams client the role runs (ingest with dense, attention: two for {@code all}, one
     * for {@code ingest} or {@code attention}) makes its own model calls, so {@code native.threads} defaults to
     * cores / (clients × {@code num.stream.threads}), at least 1. An {@code OMP_NUM_THREADS} in the environment
     * always wins.
     */
    public static synchronized void forProcessor(final SeqembedConfig config) {
        cacheDir();
        if (System.getProperty(BlasKernel.THREADS_PROPERTY) == null) {
            final String configured = config.get(SeqembedConfig.NATIVE_THREADS);
            System.setProperty(BlasKernel.THREADS_PROPERTY, configured != null ? configured
                    : String.valueOf(defaultThreads(config, Runtime.getRuntime().availableProcessors())));
        }
        BlasKernel.ensureConfigured();
    }

    /** cores / (clients the role runs × stream threads per client), at least 1. */
    static int defaultThreads(final SeqembedConfig config, final int cores) {
        final int streams = Math.max(1, parse(config.get(StreamsConfig.NUM_STREAM_THREADS_CONFIG), 1));
        final Role role = config.role();
        final int clients = (role.runsIngest() ? 1 : 0) + (role.runsAttention() ? 1 : 0);
        return Math.max(1, cores / (clients * streams));
    }

    private static int parse(final String s, final int fallback) {
        try {
            return s == null ? fallback : Integer.parseInt(s.trim());
        } catch (final NumberFormatException e) {
            return fallback;
        }
    }
}
