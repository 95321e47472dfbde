package dev.seqembed;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package graph of the shipped sources reads top-down (README, Layout): a package depends only on packages
 * below it, so there is no back-edge and no cycle. Read from the source text ({@code import} lines and fully
 * qualified names), not from bytecode, so a constant inlined by javac still counts.
 */
class PackageLayersTest {

    private static final Path SOURCES = Path.of("src/main/java/dev/seqembed");

    /** Rank per package: a package may depend only on packages of a strictly larger rank. */
    private static final Map<String, Integer> RANK = Map.ofEntries(
            Map.entry("cli", 0),
            Map.entry("bench", 1), Map.entry("demo", 1),
            Map.entry("runtime", 2), Map.entry("client", 2), Map.entry("onnx", 2),
            Map.entry("topology", 3),
            Map.entry("processor", 4),
            Map.entry("metrics", 5),
            Map.entry("engine", 6),
            Map.entry("state", 7),
            Map.entry("serde", 8), Map.entry("model", 8),
            Map.entry("platform", 9), Map.entry("text", 9),
            Map.entry("config", 10), Map.entry("broker", 10),
            Map.entry("avro", 11));

    private static final Pattern OWN = Pattern.compile("\\bdev\\.seqembed\\.(\\w+)\\.");

    /** One source file: its package (below dev.seqembed) and its text without the package line. */
    record Source(Path file, String pkg, String text) {
        Set<String> ownPackages() {
            final Set<String> out = new TreeSet<>();
            final Matcher m = OWN.matcher(text);
            while (m.find()) {
                if (!m.group(1).equals(pkg)) {
                    out.add(m.group(1));
                }
            }
            return out;
        }

        boolean mentions(final String prefix) {
            return text.contains(prefix);
        }

        @Override
        public String toString() {
            return file.toString();
        }
    }

    private static List<Source> sources;

    @BeforeAll
    static void read() throws IOException {
        final List<Source> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (final Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                final String pkg = SOURCES.relativize(f).getName(0).toString();
                final String text = Files.readString(f).replaceFirst("(?m)^package [\\w.]+;", "");
                out.add(new Source(f, pkg, text));
            }
        }
        sources = out;
        // Guards the test itself: an empty or misplaced source tree would make every rule pass.
        assertThat(sources).hasSizeGreaterThan(50);
        assertThat(sources).extracting(Source::pkg).contains("cli", "model", "processor", "metrics");
    }

    @Test
    void everyPackageHasARank() {
        assertThat(sources).allSatisfy(s -> assertThat(RANK).as(s.file().toString()).containsKey(s.pkg()));
    }

    @Test
    void dependenciesPointDownOnly() {
        final List<String> backEdges = new ArrayList<>();
        for (final Source s : sources) {
            for (final String target : s.ownPackages()) {
                final Integer to = RANK.get(target);
                if (to == null || to <= RANK.get(s.pkg())) {
                    backEdges.add(s.file() + " -> dev.seqembed." + target);
                }
            }
        }
        assertThat(backEdges).as("dependencies on a package of the same or a higher layer").isEmpty();
    }

    @Test
    void onlyTheCommandLineUsesPicocli() {
        assertThat(sources).filteredOn(s -> s.mentions("picocli"))
                .allSatisfy(s -> assertThat(s.pkg()).as(s.toString()).isEqualTo("cli"));
    }

    @Test
    void modelAndEngineKnowNoKafka() {
        assertThat(sources).filteredOn(s -> s.pkg().equals("model") || s.pkg().equals("engine"))
                .noneMatch(s -> s.mentions("org.apache.kafka"));
    }

    /** Pure math: the one way out is the BLAS kernel setup, which must run before the native library loads. */
    @Test
    void modelDependsOnNothingButTheBlasSetup() {
        for (final Source s : sources) {
            if (s.pkg().equals("model")) {
                assertThat(s.ownPackages()).as(s.file().toString()).isSubsetOf(Set.of("platform"));
                assertThat(s.text()).as(s.file().toString())
                        .doesNotContainPattern("dev\\.seqembed\\.platform\\.(?!(BlasKernel|VectorSupport)\\b)");
            }
        }
    }

    @Test
    void metricsDoNotDependOnProcessors() {
        assertThat(sources).filteredOn(s -> s.pkg().equals("metrics"))
                .allSatisfy(s -> assertThat(s.ownPackages()).as(s.file().toString()).doesNotContain("processor",
                        "topology", "runtime"));
    }
}
