package dev.seqembed.platform;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Chooses the OpenBLAS kernel and the native thread count before ND4J loads its native libraries.
 *
 * <p>Why: ND4J's bundled OpenBLAS 0.3.19 does not recognise recent CPUs and falls back to a slow
 * generic kernel (4.6x slower sgemm measured, DEPENDENCY-NOTES #16). OpenBLAS reads
 * {@code OPENBLAS_CORETYPE} from the C environment when it loads, so this class sets it with libc
 * {@code setenv} (via JNA) before the first ND4J class is touched: avx512f -> {@code SkylakeX},
 * avx2 -> {@code Haswell}, otherwise unset. A value already in the environment is never overridden
 * (some machines need a specific kernel for correctness). {@code OMP_NUM_THREADS} is set the same way
 * when unset, from the system property {@code seqembed.native.threads} or the processor count, and
 * {@code OMP_WAIT_POLICY=PASSIVE} when unset (spinning OpenMP workers collapse throughput when stream
 * threads or replicas share the cores).
 *
 * <p>Once the library is loaded nothing can be changed; {@link #probe()} then checks a small gemm
 * against a plain Java loop and logs a warning if the kernel computes wrong results.
 */
public final class BlasKernel {

    /**
     * System property: the model threads a forward splits its work over (and ND4J's OpenMP threads) when
     * {@code OMP_NUM_THREADS} is unset. OpenBLAS itself runs one thread per call (the model's {@code ModelThreads}).
     */
    public static final String THREADS_PROPERTY = "seqembed.native.threads";

    private static final Logger LOG = LoggerFactory.getLogger(BlasKernel.class);
    private static final String CORETYPE = "OPENBLAS_CORETYPE";
    private static final String OMP_THREADS = "OMP_NUM_THREADS";
    private static final String OMP_WAIT = "OMP_WAIT_POLICY";

    private static boolean configured;
    private static String coreType = "default";
    private static String source = "none";
    private static String threads = "default";
    private static String waitPolicy = "default";
    private static Boolean probeResult;

    private BlasKernel() {
    }

    /** The libc calls we need. */
    private interface CLib extends Library {
        int setenv(String name, String value, int overwrite);

        String getenv(String name);
    }

    /** Sets the kernel and thread environment once; call before any ND4J use. Never throws. */
    public static synchronized void ensureConfigured() {
        if (configured) {
            return;
        }
        configured = true;
        final String fromEnv = System.getenv(CORETYPE);
        CLib libc = null;
        try {
            libc = Native.load("c", CLib.class);
        } catch (final Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError: run with whatever loads
            LOG.warn("Cannot call libc setenv through JNA ({}); OpenBLAS will pick its own kernel, "
                    + "set OPENBLAS_CORETYPE in the environment for a fast one", t.toString());
        }
        final String inProcess = libc == null ? null : safeGetenv(libc, CORETYPE);
        if (notBlank(fromEnv) || notBlank(inProcess)) {
            coreType = notBlank(fromEnv) ? fromEnv.trim() : inProcess.trim();
            source = "environment";
        } else if (libc != null) {
            final List<String> flags = CpuInfo.flags();
            String choice = null;
            if (flags.contains("avx512f")) {
                choice = "SkylakeX";
                source = "auto:avx512f";
            } else if (flags.contains("avx2")) {
                choice = "Haswell";
                source = "auto:avx2";
            }
            if (choice != null && set(libc, CORETYPE, choice)) {
                coreType = choice;
            } else {
                source = "none";
            }
        }
        final String threadsEnv = System.getenv(OMP_THREADS);
        final String threadsInProcess = libc == null ? null : safeGetenv(libc, OMP_THREADS);
        String threadSource;
        if (notBlank(threadsEnv) || notBlank(threadsInProcess)) {
            threads = notBlank(threadsEnv) ? threadsEnv.trim() : threadsInProcess.trim();
            threadSource = "environment";
        } else {
            final String prop = System.getProperty(THREADS_PROPERTY);
            final String value = notBlank(prop) ? prop.trim()
                    : Integer.toString(Runtime.getRuntime().availableProcessors());
            threadSource = notBlank(prop) ? "property " + THREADS_PROPERTY : "processors";
            if (libc != null && set(libc, OMP_THREADS, value)) {
                threads = value;
            } else {
                threadSource = "unset";
            }
        }
        // Passive OpenMP waiting: several stream threads (and replicas) share the cores, and spinning OpenMP
        // workers then starve each other. Measured on 2 busy cores: encode(512) 1075 ms spinning vs 235 ms
        // passive, sgemm 1024^3 12 vs 58 GFLOP/s. Never overrides a value that is set.
        final String waitEnv = System.getenv(OMP_WAIT);
        final String waitInProcess = libc == null ? null : safeGetenv(libc, OMP_WAIT);
        String waitSource = "environment";
        if (notBlank(waitEnv) || notBlank(waitInProcess)) {
            waitPolicy = notBlank(waitEnv) ? waitEnv.trim() : waitInProcess.trim();
        } else if (libc != null && set(libc, OMP_WAIT, "PASSIVE")) {
            waitPolicy = "PASSIVE";
            waitSource = "default";
        } else {
            waitSource = "unset";
        }
        LOG.info("Native math: OPENBLAS_CORETYPE={} ({}), OMP_NUM_THREADS={} ({}), OMP_WAIT_POLICY={} ({})",
                coreType, source, threads, threadSource, waitPolicy, waitSource);
    }

    private static boolean set(final CLib libc, final String name, final String value) {
        try {
            // overwrite = 0: even if something set it between our check and now, keep that value.
            if (libc.setenv(name, value, 0) == 0) {
                final String now = safeGetenv(libc, name);
                return value.equals(now);
            }
        } catch (final Throwable t) {
            LOG.warn("setenv({}) failed: {}", name, t.toString());
        }
        return false;
    }

    private static String safeGetenv(final CLib libc, final String name) {
        try {
            return libc.getenv(name);
        } catch (final Throwable t) {
            return null;
        }
    }

    private static boolean notBlank(final String s) {
        return s != null && !s.isBlank();
    }

    /** The effective OPENBLAS_CORETYPE, or {@code "default"} when OpenBLAS chooses by itself. */
    public static synchronized String coreType() {
        ensureConfigured();
        return coreType;
    }

    /** Where the kernel choice came from: environment, auto:avx512f, auto:avx2 or none. */
    public static synchronized String source() {
        ensureConfigured();
        return source;
    }

    /** The effective OMP_WAIT_POLICY ({@code PASSIVE} unless the environment chose), or {@code "default"}. */
    public static synchronized String waitPolicy() {
        ensureConfigured();
        return waitPolicy;
    }

    /** The effective OMP_NUM_THREADS, or {@code "default"}. */
    public static synchronized String nativeThreads() {
        ensureConfigured();
        return threads;
    }

    /** {@link #nativeThreads()} as a number: the processor count when the library decides by itself. */
    public static int nativeThreadCount() {
        try {
            return Math.max(1, Integer.parseInt(nativeThreads()));
        } catch (final NumberFormatException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    /**
     * Runs once (memoised): a 64x96 by 96x80 float gemm through ND4J compared with a Java loop. On a
     * mismatch (relative error above 1e-3) logs a warning; the kernel cannot be switched after load.
     *
     * @return true if the gemm agreed
     */
    public static synchronized boolean probe() {
        ensureConfigured();
        if (probeResult == null) {
            probeResult = Nd4jProbe.run();
            LOG.info("OpenBLAS kernel in use: {}; gemm self-check {}", activeCoreName(), probeResult ? "passed" : "FAILED");
            if (!probeResult) {
                LOG.warn("BLAS self-check FAILED with OPENBLAS_CORETYPE={} ({}): the OpenBLAS kernel may be broken "
                        + "on this CPU and embeddings may be wrong. Set OPENBLAS_CORETYPE to a safe kernel "
                        + "(e.g. Haswell, Sandybridge or Prescott) in the environment before starting the JVM.",
                        coreType, source);
            }
        }
        return probeResult;
    }

    /**
     * The kernel OpenBLAS actually uses ({@code openblas_get_corename()} of the loaded library, found through
     * /proc/self/maps), e.g. "Haswell" or "Prescott"; "not loaded" before ND4J is, "unknown" if it cannot tell.
     * Unlike {@link #coreType()} this shows what the library did with the environment.
     */
    public static synchronized String activeCoreName() {
        try {
            String path = null;
            for (final String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                final int slash = line.indexOf('/');
                if (slash >= 0 && line.contains("libopenblas") && line.contains(".so")) {
                    path = line.substring(slash).trim();
                    break;
                }
            }
            if (path == null) {
                return "not loaded";
            }
            // dlopen of an already loaded library returns the same handle: this reads the live state.
            final com.sun.jna.Function f = com.sun.jna.NativeLibrary.getInstance(path).getFunction("openblas_get_corename");
            final String name = f.invokeString(new Object[0], false);
            return name == null ? "unknown" : name.trim();
        } catch (final Throwable t) {
            LOG.debug("Cannot ask OpenBLAS for its kernel: {}", t.toString());
            return "unknown";
        }
    }

    /** Kept in its own class so that ND4J is only loaded when the probe runs. */
    private static final class Nd4jProbe {
        static boolean run() {
            final int m = 64;
            final int k = 96;
            final int n = 80;
            final java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
            final float[] a = new float[m * k];
            final float[] b = new float[k * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            final float[] c;
            try {
                c = org.nd4j.linalg.factory.Nd4j.create(a, new long[] {m, k}, org.nd4j.linalg.api.buffer.DataType.FLOAT)
                        .mmul(org.nd4j.linalg.factory.Nd4j.create(b, new long[] {k, n},
                                org.nd4j.linalg.api.buffer.DataType.FLOAT))
                        .dup('c').data().asFloat();
            } catch (final RuntimeException e) {
                LOG.warn("BLAS self-check could not run: {}", e.toString());
                return false;
            }
            double maxErr = 0;
            double maxRef = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        s += (double) a[i * k + p] * b[p * n + j];
                    }
                    maxErr = Math.max(maxErr, Math.abs(s - c[i * n + j]));
                    maxRef = Math.max(maxRef, Math.abs(s));
                }
            }
            final boolean ok = maxErr <= 1e-3 * Math.max(maxRef, 1e-6);
            LOG.debug("BLAS self-check: max abs error {} (max |c| {})", maxErr, maxRef);
            return ok;
        }
    }
}
