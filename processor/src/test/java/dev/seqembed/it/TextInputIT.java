package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.cli.Main;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.avro.Embedding;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.testing.MiniLm;
import dev.seqembed.topology.Models;

/**
 * The README's two commands for text (SPEC §10.2): {@code produce --text … --tokenizer …} run from the packaged jar
 * in its own JVM (so the tokenizer's native library must load from the shaded jar, into the cache directory it
 * is given) and the processor's embeddings on both paths equal {@code embed --text} of the same file.
 */
class TextInputIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    @TempDir
    static Path dir;

    private static Path texts;
    private static Path tokenizer;
    private static Path models;

    @BeforeAll
    static void setUp() throws Exception {
        tokenizer = MiniLm.tokenizer(dir.resolve("tokenizer")).getParent();
        models = ModelDirs.defaultModels();
        texts = Files.writeString(dir.resolve("texts.jsonl"), """
                {"id": "greeting", "text": "Hello, World!"}
                {"text": "Kafka Streams turns token sequences into embeddings."}
                {"id": "empty", "text": "  "}
                {"id": "café", "text": "The café is unaffable."}
                """);
    }

    private static List<Embedding> offline(final String path) throws Exception {
        final Path out = dir.resolve("offline-" + path + ".jsonl");
        assertThat(Main.commandLine().execute("embed", "--path", path, "--text", texts.toString(), "--tokenizer",
                tokenizer.toString(), "--output", out.toString())).isZero();
        return OfflineEmbed.read(Files.readAllLines(out, StandardCharsets.UTF_8));
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void producedTextsComeOutAsTheOfflineEmbeddingsOnBothPaths() throws Exception {
        final List<Embedding> wantDense = offline("dense");
        final List<Embedding> wantAttention = offline("attention");
        assertThat(wantAttention).extracting(Embedding::getSequenceId)
                .containsExactly("greeting", "text-2", "café");
        assertThat(wantAttention.get(0).getLength()).isEqualTo(6); // [CLS] hello , world ! [SEP]

        final String suffix = UUID.randomUUID().toString().substring(0, 8);
        final Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", KAFKA.bootstrapServers());
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, "text-it-" + suffix);
        m.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString());
        m.put(SeqembedConfig.HTTP_PORT, "0");
        m.put(SeqembedConfig.TOPIC_PARTITIONS, "2");
        final SeqembedConfig config = SeqembedConfig.from(m);
        final List<Embedding> gotDense;
        final List<Embedding> gotAttention;
        try (SeqembedApp app = SeqembedApp.start(config, Models.load(models.resolve("dense"),
                models.resolve("attention")))) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            final Path cache = dir.resolve("xdg-cache");
            final Produced produced = produceFromTheJar(cache, "--bootstrap-servers", KAFKA.bootstrapServers(),
                    "--text", texts.toString(), "--tokenizer", tokenizer.toString(), "--chunk", "4");
            assertThat(produced.exit()).as(produced.stderr()).isZero();
            assertThat(produced.stderr()).contains("skipped empty").contains("produced 3 sequences");
            try (var files = Files.walk(cache.resolve("seqembed").resolve("djl"))) {
                assertThat(files.map(p -> p.getFileName().toString())).contains("libtokenizers.so");
            }
            gotDense = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsDense(),
                    wantDense.size(), Duration.ofSeconds(60));
            gotAttention = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(),
                    wantAttention.size(), Duration.ofSeconds(60));
        }
        StreamingEqualsOfflineIT.assertSameVectors(gotDense, wantDense, 1e-6f);
        StreamingEqualsOfflineIT.assertSameVectors(gotAttention, wantAttention, 0f);
    }

    record Produced(int exit, String stderr) {
    }

    /** {@code java -jar target/seqembed.jar produce args…} with XDG_CACHE_HOME pointing at {@code cache}. */
    private static Produced produceFromTheJar(final Path cache, final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin"
                + File.separator + "java", "-Xmx512m", "-jar", Path.of("target", "seqembed.jar").toAbsolutePath()
                .toString(), "produce"));
        command.addAll(List.of(args));
        final Path stderr = dir.resolve("produce.err");
        final ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile());
        pb.environment().put("XDG_CACHE_HOME", cache.toString());
        final Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("produce finished").isTrue();
        return new Produced(p.exitValue(), Files.readString(stderr));
    }
}
