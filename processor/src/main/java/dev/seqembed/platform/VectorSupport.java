package dev.seqembed.platform;

/**
 * Whether the JDK's SIMD API ({@code jdk.incubator.vector}, Java 16+) is in this JVM's boot layer. It is an
 * incubator module, so the JVM only has it when started with {@code --add-modules jdk.incubator.vector} (the
 * container image and the benchmarks do; a plain {@code java -jar} does not, and then prints no incubator
 * warning). The model's element-wise kernels use it when present, bit for bit the same results as without.
 */
public final class VectorSupport {

    /** System property: {@code false} keeps the scalar kernels even when the module is present. */
    public static final String PROPERTY = "seqembed.vector-api";

    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equalsIgnoreCase(System.getProperty(PROPERTY, "").trim());

    private VectorSupport() {
    }

    /** True when the vector kernels run. */
    public static boolean enabled() {
        return AVAILABLE;
    }
}
