package dev.seqembed.app;

/**
 * Process-wide native settings made before any native library loads: the JavaCPP cache directory (under the
 * user's cache unless {@code -Dorg.bytedeco.javacpp.cachedir} is given) and the BLAS kernel
 * ({@link dev.seqembed.model.BlasKernel}).
 */
public final class NativeSetup {

    private static final String CACHEDIR = "org.bytedeco.javacpp.cachedir";

    private NativeSetup() {
    }

    public static synchronized void configure() {
        if (System.getProperty(CACHEDIR) == null) {
            System.setProperty(CACHEDIR, ModelDirs.cacheRoot().resolve("javacpp").toString());
        }
        dev.seqembed.model.BlasKernel.ensureConfigured();
    }
}
