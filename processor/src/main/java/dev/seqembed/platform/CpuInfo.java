package dev.seqembed.platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What {@code /proc/cpuinfo} says about the first processor (Linux; elsewhere nothing). */
public final class CpuInfo {

    private static final Logger LOG = LoggerFactory.getLogger(CpuInfo.class);
    private static final Path CPUINFO = Path.of("/proc/cpuinfo");

    private CpuInfo() {
    }

    /** The CPU flags of the first processor (empty if unreadable). */
    public static List<String> flags() {
        final String flags = firstValue("flags");
        return flags == null ? List.of() : List.of(flags.toLowerCase(Locale.ROOT).split("\\s+"));
    }

    /** The model name of the first processor, or {@code "unknown"}. */
    public static String modelName() {
        final String name = firstValue("model name");
        return name == null ? "unknown" : name;
    }

    /** The value of the first line starting with {@code key} that has a colon, trimmed; null if none. */
    private static String firstValue(final String key) {
        try {
            for (final String line : Files.readAllLines(CPUINFO)) {
                if (line.startsWith(key)) {
                    final int colon = line.indexOf(':');
                    if (colon >= 0) {
                        return line.substring(colon + 1).trim();
                    }
                }
            }
        } catch (final IOException | RuntimeException e) {
            // Not Linux, or not readable.
            LOG.debug("Cannot read {}: {}", CPUINFO, e.toString());
        }
        return null;
    }
}
