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
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.cli.Main;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.testing.MiniLm;
import dev.seqembed.topology.Models;
import dev.seqembed.testing.OwnTopics;

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

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aThreeThousandTokenDocumentComesOutAsItsWindows() throws Exception {
        final Path doc = Files.writeString(dir.resolve("doc.jsonl"), "{\"id\": \"long-doc\", \"text\": \""
                + "The quick brown fox jumps over the lazy dog. ".repeat(300) + "\"}\n");
        final Path out = dir.resolve("offline-long.jsonl");
        assertThat(Main.commandLine().execute("embed", "--path", "attention", "--text", doc.toString(),
                "--tokenizer", tokenizer.toString(), "--output", out.toString(), "-D", "attention.overflow=window"))
                .isZero();
        final List<Embedding> want = OfflineEmbed.read(Files.readAllLines(out, StandardCharsets.UTF_8));
        // 300 x 10 tokens + [CLS] + [SEP] = 3002; P = 512, stride 256: 1 + ceil(2490 / 256) = 11 windows
        assertThat(want).extracting(Embedding::getStart)
                .containsExactly(0, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 2490);
        assertThat(want).allSatisfy(e -> {
            assertThat(e.getLength()).isEqualTo(512);
            assertThat(e.getMetrics().getSequenceLength()).isEqualTo(3002);
        });

        final String suffix = UUID.randomUUID().toString().substring(0, 8);
        final SeqembedConfig config = SeqembedConfig.from(Map.of("bootstrap.servers", KAFKA.bootstrapServers(),
                StreamsConfig.APPLICATION_ID_CONFIG, "window-it-" + suffix,
                StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state-window").toString(),
                SeqembedConfig.HTTP_PORT, "0",
                SeqembedConfig.ATTENTION_OVERFLOW, "window"), OwnTopics.named(suffix));
        final List<Embedding> got;
        try (SeqembedApp app = SeqembedApp.start(config, Models.load(models.resolve("dense"),
                models.resolve("attention")))) {
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            assertThat(Main.commandLine().execute("produce", "--bootstrap-servers", KAFKA.bootstrapServers(),
                    "--topic", config.topicTokens(), "--text", doc.toString(), "--tokenizer", tokenizer.toString(),
                    "--chunk", "700")).isZero();
            got = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), config.topicEmbeddingsAttention(),
                    want.size(), Duration.ofSeconds(90));
        }
        // streamed, windows share packed forwards (attention.batch.max-tokens); offline, each window is alone
        StreamingEqualsOfflineIT.assertSameVectors(got, want, 1e-5f);
    }

    record Produced(int exit, String stderr) {
    }

    /** {@code java -jar target/seqembed.jar produce args…} with XDG_CACHE_HOME pointing at {@code cache}. */
    private static Produced produceFromTheJar(final Path cache, final String... args) throws Exception {
        final Path stderr = dir.resolve("produce-" + UUID.randomUUID() + ".err");
        final Process p = startProduce(cache, stderr, args);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("produce finished").isTrue();
        return new Produced(p.exitValue(), Files.readString(stderr));
    }

    private static Process startProduce(final Path cache, final Path stderr, final String... args) throws Exception {
        final List<String> command = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin"
                + File.separator + "java", "-Xmx512m", "-jar", Path.of("target", "seqembed.jar").toAbsolutePath()
                .toString(), "produce"));
        command.addAll(List.of(args));
        final ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile());
        pb.environment().put("XDG_CACHE_HOME", cache.toString());
        return pb.start();
    }

    /**
     * {@code produce --loop} as the compose producer runs it, stopped with SIGTERM: what it says it sent is exactly
     * what the topic holds, every pass under new ids.
     */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aLoopStoppedBySigtermReportsExactlyWhatTheTopicHolds() throws Exception {
        final String topic = "tokens-loop-" + UUID.randomUUID().toString().substring(0, 8);
        // Idempotent; the broker's metadata may lag the controller under load (UnknownTopicOrPartition): retry.
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .untilAsserted(() -> KAFKA.createTopics(topic));
        final Path three = Files.writeString(dir.resolve("three.txt"), "one text\nanother text\nthe third one\n");
        final Path stderr = dir.resolve("loop.err");
        final Process p = startProduce(dir.resolve("xdg-cache"), stderr, "--bootstrap-servers",
                KAFKA.bootstrapServers(), "--topic", topic, "--text", three.toString(), "--tokenizer",
                tokenizer.toString(), "--loop", "--rate", "30", "--chunk", "2");
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(stderr).contains("pass 3:") && System.nanoTime() < deadline && p.isAlive()) {
            Thread.sleep(100);
        }
        assertThat(Files.readString(stderr)).contains("pass 3:");
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(stderr)).isIn(0, 143);
        final Matcher m = Pattern.compile("produced (\\d+) sequences in (\\d+) chunks").matcher(Files.readString(stderr));
        assertThat(m.find()).as(Files.readString(stderr)).isTrue();
        final int sequences = Integer.parseInt(m.group(1));
        final int chunks = Integer.parseInt(m.group(2));
        assertThat(sequences).isGreaterThanOrEqualTo(9);
        final List<ConsumerRecord<byte[], byte[]>> records = EmbeddingReader.read(KAFKA.bootstrapServers(), topic,
                chunks, Duration.ofSeconds(60));
        assertThat(records).hasSize(chunks);
        final Set<String> keys = new HashSet<>();
        records.forEach(r -> keys.add(new String(r.key(), StandardCharsets.UTF_8)));
        assertThat(keys).hasSize(sequences);
        final String run = keys.iterator().next().replaceAll(".*@([0-9a-z]+)\\..*", "$1");
        assertThat(keys).allMatch(k -> k.matches("text-[123]@" + run + "\\.\\d+"))
                .contains("text-1@" + run + ".1", "text-3@" + run + ".1", "text-1@" + run + ".3");
    }
}
