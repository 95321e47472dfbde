package dev.seqembed.platform;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.management.JMException;
import javax.management.ObjectName;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the JDK's SIMD API ({@code jdk.incubator.vector}, Java 16+) is in this JVM's boot layer. It is an
 * incubator module, so the JVM only has it when started with {@code --add-modules jdk.incubator.vector} (the
 * container image and the benchmarks do; a plain {@code java -jar} does not, and then prints no incubator
 * warning). The model's element-wise kernels use it when present, bit for bit the same results as without.
 *
 * <p>When they run, a compiler directive keeps C2 from inlining them into their callers ({@link #KERNELS}). A
 * kernel inlined deep into a forward's call chain sometimes hit the compiler's inlining limits before its own
 * Vector API calls, which then were not intrinsified and boxed every vector on the heap: in about one JVM start
 * in four GELU and softmax ran 4-6x slower for the JVM's whole life. Compiled on their own, as roots, they are
 * always fast (measured 6 of 6 starts, against 4 of 6 without).
 */
public final class VectorSupport {

    /** System property: {@code false} keeps the scalar kernels even when the module is present. */
    public static final String PROPERTY = "seqembed.vector-api";

    /** The class whose methods hold the Vector API loops. */
    static final String KERNELS = "dev/seqembed/model/VectorKernels";

    private static final Logger LOG = LoggerFactory.getLogger(VectorSupport.class);

    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "").trim());

    static {
        if (AVAILABLE) {
            keepKernelsOutOfLine();
        }
    }

    private VectorSupport() {
    }

    /** True when the vector kernels run. */
    public static boolean enabled() {
        return AVAILABLE;
    }

    /** The directive (HotSpot's JSON dialect): no method of ours inlines a kernel. */
    static String directive() {
        return "[{ match: \"dev/seqembed/*.*\", inline: \"-" + KERNELS + ".*\" }]";
    }

    /**
     * Adds {@link #directive()} through the JVM's diagnostic command MBean ({@code jcmd Compiler.directives_add}),
     * which reads it from a file. A JVM without it (no jdk.management module, not HotSpot) keeps correct
     * kernels that may run slower: said once in the log.
     */
    private static void keepKernelsOutOfLine() {
        Path file = null;
        try {
            file = Files.createTempFile("seqembed-jit-", ".json");
            Files.writeString(file, directive());
            ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
                    new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
        } catch (final IOException | JMException | RuntimeException | LinkageError e) {
            LOG.warn("Could not add the compiler directive that keeps the vector kernels fast ({}); they stay "
                    + "correct but may run slower", e.toString());
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (final IOException e) {
                    LOG.debug("temporary directive file {} left behind", file, e);
                }
            }
        }
    }
}
