package dev.seqembed.cli;

import static dev.seqembed.testing.Cli.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.engine.Vectors;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.KvCache;
import dev.seqembed.model.Pooling;
import dev.seqembed.serde.EmbeddingJson;
import dev.seqembed.testing.Chunks;
import dev.seqembed.testing.Cli.Result;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/** The command line as users meet it (SPEC §5): help, user errors as one line with exit 2, offline embed. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CliTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static Models small;

    @BeforeAll
    static void writeSmallModels() throws Exception {
        small = TestModels.write(dir.resolve("small"));
    }

    private static Path jsonl(final String name, final String... lines) throws Exception {
        final Path p = dir.resolve(name);
        Files.write(p, List.of(lines), StandardCharsets.UTF_8);
        return p;
    }

    private static String seq(final String id, final int[] tokens) {
        final StringBuilder b = new StringBuilder("{\"sequence_id\": \"" + id + "\", \"tokens\": [");
        for (int i = 0; i < tokens.length; i++) {
            b.append(i == 0 ? "" : ", ").append(tokens[i]);
        }
        return b.append("]}").toString();
    }

    private static List<Embedding> readEmbeddings(final Path file) throws Exception {
        final List<Embedding> out = new ArrayList<>();
        for (final String line : Files.readAllLines(file)) {
            out.add(EmbeddingJson.read(line));
        }
        return out;
    }

    // ---- help ----

    static Stream<Arguments> commands() {
        return Stream.of(
                Arguments.of("demo", List.of("--sequences", "--seconds")),
                Arguments.of("broker", List.of("--port", "--data-dir")),
                Arguments.of("run", List.of("--bootstrap-servers", "--config", "--application-id", "--state-dir",
                        "--dense-model", "--attention-model", "--attention-mode", "--http-port")),
                Arguments.of("produce", List.of("--bootstrap-servers", "--topic", "--input", "--chunk", "--synthetic",
                        "--min-len", "--max-len", "--text", "--tokenizer", "--loop", "--rate")),
                Arguments.of("consume", List.of("--bootstrap-servers", "--topic", "--from-beginning", "--max",
                        "--timeout-ms")),
                Arguments.of("embed", List.of("--path", "--model", "--mode", "--chunk", "--input", "--output", "--text",
                        "--tokenizer")),
                Arguments.of("bench", List.of("--quick", "--json")),
                Arguments.of("report", List.of("--input", "--output")),
                Arguments.of("init-models", List.of("--out")));
    }

    @ParameterizedTest(name = "{0} --help")
    @MethodSource("commands")
    void helpOfEachCommandExitsZeroAndNamesItsOptions(final String command, final List<String> options) {
        final Result r = run(command, "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("Usage:").contains(command);
        for (final String option : options) {
            assertThat(r.out()).as("%s --help mentions %s", command, option).contains(option);
        }
        assertThat(r.err()).isBlank();
    }

    @Test
    void topLevelHelpListsEveryCommand() {
        final Result r = run("--help");
        assertThat(r.exit()).isZero();
        commands().forEach(a -> assertThat(r.out()).contains((String) a.get()[0]));
    }

    // ---- user errors ----

    private static void assertUserError(final Result r, final String... mentions) {
        assertThat(r.exit()).as("exit code; stderr was:%n%s", r.err()).isEqualTo(2);
        assertThat(r.errLines()).as("exactly one line on stderr").hasSize(1);
        assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception").doesNotContain("Caused by");
        for (final String m : mentions) {
            assertThat(r.err()).contains(m);
        }
    }

    @Test
    void unknownCommand() {
        assertUserError(run("bogus"), "bogus");
    }

    @Test
    void noCommand() {
        assertUserError(run());
    }

    @Test
    void missingRequiredOption() throws Exception {
        assertUserError(run("embed", "--path", "dense", "--output", dir.resolve("o.jsonl").toString()), "--input");
        assertUserError(run("init-models"), "--out");
        assertUserError(run("consume", "--bootstrap-servers", "localhost:1"), "--topic");
        assertUserError(run("produce", "--bootstrap-servers", "localhost:1"));
    }

    @Test
    void badOptionValue() throws Exception {
        final Path in = jsonl("ok.jsonl", seq("a", new int[] {1, 2}));
        assertUserError(run("embed", "--path", "dense", "--chunk", "abc", "--input", in.toString(), "--output",
                dir.resolve("o.jsonl").toString()), "abc");
        assertUserError(run("bench", "--e2e", "--warm-up-seconds", "-1"), "--warm-up-seconds");
    }

    @Test
    void embedWithAnUnknownPath() throws Exception {
        final Path in = jsonl("ok-path.jsonl", seq("a", new int[] {1, 2}));
        assertUserError(run("embed", "--path", "foo", "--input", in.toString(), "--output",
                dir.resolve("o.jsonl").toString()), "foo", "--path");
    }

    @Test
    void embedWithAnUnknownMode() throws Exception {
        final Path in = jsonl("ok-mode.jsonl", seq("a", new int[] {1, 2}));
        assertUserError(run("embed", "--path", "attention", "--mode", "sideways", "--model",
                dir.resolve("small/attention").toString(), "--input", in.toString(), "--output",
                dir.resolve("o.jsonl").toString()), "sideways");
    }

    @Test
    void embedWithABadSetting() throws Exception {
        final Path in = jsonl("ok-set.jsonl", seq("a", new int[] {1, 2}));
        assertUserError(run("embed", "--path", "dense", "--model", dir.resolve("small/dense").toString(),
                "-D", "dense.batch.max-windows=0", "--input", in.toString(), "--output",
                dir.resolve("o.jsonl").toString()), "dense.batch.max-windows");
    }

    @Test
    void embedWithAMissingModelDirectory() throws Exception {
        final Path in = jsonl("ok-model.jsonl", seq("a", new int[] {1, 2}));
        final Path missing = dir.resolve("no-such-model");
        final Result r = run("embed", "--path", "dense", "--model", missing.toString(), "--input", in.toString(),
                "--output", dir.resolve("o.jsonl").toString());
        assertUserError(r, "no-such-model");
    }

    @Test
    void embedWithANonexistentInputFile() {
        final Path missing = dir.resolve("missing.jsonl");
        assertUserError(run("embed", "--path", "dense", "--input", missing.toString(), "--output",
                dir.resolve("o.jsonl").toString()), "missing.jsonl");
    }

    @Test
    void embedWithAMalformedJsonlLineNamesFileAndLine() throws Exception {
        final Path in = jsonl("bad.jsonl", seq("a", new int[] {1, 2}), "{\"sequence_id\": \"b\", \"tokens\": [1,");
        assertUserError(run("embed", "--path", "dense", "--input", in.toString(), "--output",
                dir.resolve("o.jsonl").toString()), in + ":2");

        final Path wrongShape = jsonl("shape.jsonl", "", "{\"id\": \"b\", \"tokens\": [1]}");
        assertUserError(run("embed", "--path", "dense", "--input", wrongShape.toString(), "--output",
                dir.resolve("o.jsonl").toString()), wrongShape + ":2");

        final Path notInt = jsonl("notint.jsonl", "{\"sequence_id\": \"c\", \"tokens\": [1, \"x\"]}");
        assertUserError(run("embed", "--path", "dense", "--input", notInt.toString(), "--output",
                dir.resolve("o.jsonl").toString()), notInt + ":1");
    }

    @Test
    void embedWithTheWrongKindOfModelDirectory() throws Exception {
        final Path in = jsonl("ok-kind.jsonl", seq("a", new int[] {1, 2}));
        assertUserError(run("embed", "--path", "dense", "--model", dir.resolve("small/attention").toString(),
                "--input", in.toString(), "--output", dir.resolve("o.jsonl").toString()), "model_type");
    }

    @Test
    void produceWithABadChunkSizeFailsBeforeConnecting() {
        assertUserError(run("produce", "--bootstrap-servers", "localhost:1", "--synthetic", "3", "--chunk", "-1"),
                "--chunk");
    }

    @Test
    void embedToAnOutputInAMissingDirectory() throws Exception {
        final Path in = jsonl("ok-out1.jsonl", seq("a", new int[] {1, 2}));
        assertUserError(run("embed", "--path", "dense", "--model", dir.resolve("small/dense").toString(),
                "--input", in.toString(), "--output", dir.resolve("no-such-dir/out.jsonl").toString()),
                "no-such-dir");
    }

    @Test
    void embedToAnOutputThatIsADirectory() throws Exception {
        final Path in = jsonl("ok-out2.jsonl", seq("a", new int[] {1, 2}));
        final Path outDir = Files.createDirectories(dir.resolve("out-is-a-dir"));
        assertUserError(run("embed", "--path", "dense", "--model", dir.resolve("small/dense").toString(),
                "--input", in.toString(), "--output", outDir.toString()), "out-is-a-dir");
    }

    @Test
    void runWithoutBootstrapServers() {
        assertUserError(run("run", "--http-port", "0"), "--bootstrap-servers");
    }

    @Test
    void runWithAMissingConfigFile() {
        assertUserError(run("run", "--bootstrap-servers", "localhost:1", "--config",
                dir.resolve("nope.properties").toString()), "nope.properties");
    }

    /**
     * Where no broker answers, every command that talks to Kafka ends with one line naming the address and exit 2,
     * within the probe's 20 s (not minutes of client retries with a warning a second).
     */
    @ParameterizedTest
    @MethodSource("commandsThatTalkToKafka")
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void noBrokerAtTheAddressIsOneLine(final List<String> args) {
        final Result r = run(args.toArray(String[]::new));
        assertUserError(r, "no Kafka broker answers at localhost:1");
    }

    static Stream<List<String>> commandsThatTalkToKafka() {
        return Stream.of(
                List.of("produce", "--bootstrap-servers", "localhost:1", "--synthetic", "3"),
                List.of("consume", "--bootstrap-servers", "localhost:1", "--topic", "embeddings.dense"),
                List.of("run", "--bootstrap-servers", "localhost:1", "--http-port", "0"),
                List.of("reset", "--bootstrap-servers", "localhost:1", "--state-dir", "unused-state"));
    }

    /** Rejected while reading the settings, before any model load or Kafka connection (port 1 would hang). */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void runWithABogusAttentionModeFailsBeforeConnecting() {
        assertUserError(run("run", "--bootstrap-servers", "localhost:1", "--http-port", "0", "--attention-mode",
                "bogus"), "attention.mode", "bogus");
    }

    // ---- embed ----

    @Test
    void initModelsThenEmbedWithTheDefaultDenseModel() throws Exception {
        final Path models = dir.resolve("defaults");
        final Result init = run("init-models", "--out", models.toString());
        assertThat(init.exit()).as(init.err()).isZero();
        for (final String kind : List.of("dense", "attention")) {
            assertThat(models.resolve(kind).resolve("config.json")).isRegularFile();
            assertThat(models.resolve(kind).resolve("model.safetensors")).isRegularFile();
        }
        final JsonNode bertConfig = JSON.readTree(models.resolve("attention/config.json").toFile());
        assertThat(bertConfig.get("model_type").asText()).isEqualTo("bert");
        assertThat(bertConfig.get("vocab_size").asInt()).isEqualTo(30522);
        assertThat(bertConfig.get("max_position_embeddings").asInt()).isEqualTo(512);
        final JsonNode denseConfig = JSON.readTree(models.resolve("dense/config.json").toFile());
        assertThat(denseConfig.get("model_type").asText()).isEqualTo("window-mlp");
        assertThat(denseConfig.get("vocab_size").asInt()).isEqualTo(30522);

        final DenseWindowModel dense = DenseWindowModel.load(models.resolve("dense"));
        final int w = dense.config().window();
        final int s = dense.config().stride();
        final int[] one = {101};
        final int[] full = Chunks.tokens(w, 3);
        final int[] longer = Chunks.tokens(w + 2 * s + 1, 9);
        final Path in = jsonl("default-in.jsonl", seq("one", one), seq("full", full), seq("longer", longer));
        final Path out = dir.resolve("default-out.jsonl");
        final Result r = run("embed", "--path", "dense", "--model", models.resolve("dense").toString(), "--input",
                in.toString(), "--output", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        final List<String> lines = Files.readAllLines(out);
        assertThat(lines).hasSize(1 + 1 + 4);
        final String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(models.resolve("dense/model.safetensors"))));
        final List<String> ids = new ArrayList<>();
        for (final String line : lines) {
            final JsonNode n = JSON.readTree(line);
            assertThat(n.fieldNames()).toIterable().containsExactly("sequence_id", "path", "index", "start",
                    "length", "final", "vector", "model", "metrics");
            assertThat(n.get("metrics").fieldNames()).toIterable().containsExactly("flops", "compute_nanos",
                    "batch_size", "batch_tokens", "padded_tokens", "sequence_length", "state_bytes",
                    "queue_millis", "end_to_end_millis", "cache_hit_tokens");
            assertThat(n.get("path").asText()).isEqualTo("DENSE");
            assertThat(n.get("vector")).hasSize(dense.config().outputSize());
            assertThat(n.get("model").get("sha256").asText()).isEqualTo(sha);
            assertThat(n.get("metrics").get("flops").asLong()).isEqualTo(dense.config().flopsPerWindow())
                    .isEqualTo(2L * (dense.config().hiddenSize() * w * dense.config().embedDim()
                            + dense.config().outputSize() * dense.config().hiddenSize()));
            ids.add(n.get("sequence_id").asText());
        }
        assertThat(ids).containsExactly("one", "full", "longer", "longer", "longer", "longer");

        final List<Embedding> es = readEmbeddings(out);
        assertThat(es.get(0).getLength()).isEqualTo(1);
        assertThat(es.get(0).getFinal$()).isTrue();
        assertThat(es.get(1).getLength()).isEqualTo(w);
        final List<Embedding> tail = es.subList(2, 6);
        for (int k = 0; k < 4; k++) {
            assertThat(tail.get(k).getIndex()).isEqualTo(k);
            assertThat(tail.get(k).getStart()).isEqualTo(k * s);
            assertThat(tail.get(k).getFinal$()).isEqualTo(k == 3);
        }
        assertThat(tail.get(3).getLength()).isEqualTo(longer.length - 3 * s);
        assertClose(Vectors.toArray(es.get(1).getVector()), dense.embedWindow(full, w));
    }

    @Test
    void embedSkipsInvalidSequencesWithTheirReasonAndOutputsTheOthers() throws Exception {
        final Path in = jsonl("mixed.jsonl",
                seq("good-1", Chunks.tokens(5, 0)),
                seq("bad-token", new int[] {1, 2, TestModels.DENSE.vocabSize() + 5}),
                seq("negative", new int[] {-1}),
                seq("empty", new int[0]),
                seq("too-long", Chunks.tokens(11, 0)),
                seq("good-2", Chunks.tokens(3, 1)));
        final Path out = dir.resolve("mixed-out.jsonl");
        final Result r = run("embed", "--path", "dense", "--model", dir.resolve("small/dense").toString(),
                "--max-tokens", "10", "--input", in.toString(), "--output", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("bad-token").contains("TOKEN_OUT_OF_RANGE")
                .contains("negative").contains("EMPTY_SEQUENCE").contains("too-long").contains("SEQUENCE_TOO_LONG");
        assertThat(r.err().lines().filter(l -> l.contains("bad-token")).toList()).singleElement()
                .satisfies(l -> assertThat(l).contains("TOKEN_OUT_OF_RANGE"));
        final List<Embedding> es = readEmbeddings(out);
        // W=4, S=2: 5 tokens -> 2 windows, 3 tokens -> 1 window.
        assertThat(es).extracting(Embedding::getSequenceId).containsExactly("good-1", "good-1", "good-2");
        assertThat(es).allSatisfy(e -> assertThat(e.getPath()).isEqualTo(EmbeddingPath.DENSE));
    }

    @Test
    void embedAttentionEncoderGivesOneVectorPerSequenceEqualToTheModel() throws Exception {
        final int[] a = Chunks.tokens(9, 2);
        final int[] b = Chunks.tokens(2, 5);
        final Path in = jsonl("enc.jsonl", seq("a", a), seq("bad", new int[] {999}), seq("b", b));
        final Path out = dir.resolve("enc-out.jsonl");
        final Result r = run("embed", "--path", "attention", "--model", dir.resolve("small/attention").toString(),
                "--input", in.toString(), "--output", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("bad").contains("TOKEN_OUT_OF_RANGE");
        final List<Embedding> es = readEmbeddings(out);
        assertThat(es).extracting(Embedding::getSequenceId).containsExactly("a", "b");
        final BertModel bert = small.attention();
        final Embedding ea = es.get(0);
        assertThat(ea.getPath()).isEqualTo(EmbeddingPath.ATTENTION);
        assertThat(ea.getIndex()).isZero();
        assertThat(ea.getStart()).isZero();
        assertThat(ea.getLength()).isEqualTo(a.length);
        assertThat(ea.getFinal$()).isTrue();
        assertClose(Vectors.toArray(ea.getVector()), bert.encode(a, Pooling.MEAN, true));
        assertClose(Vectors.toArray(es.get(1).getVector()), bert.encode(b, Pooling.MEAN, true));
    }

    @Test
    void embedAttentionCausalGivesOneVectorPerChunk() throws Exception {
        final int[] a = Chunks.tokens(7, 4);
        final Path in = jsonl("causal.jsonl", seq("a", a));
        final Path out = dir.resolve("causal-out.jsonl");
        final Result r = run("embed", "--path", "attention", "--mode", "causal", "--chunk", "3", "--model",
                dir.resolve("small/attention").toString(), "--input", in.toString(), "--output", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        final List<Embedding> es = readEmbeddings(out);
        assertThat(es).hasSize(3);
        final int[] starts = {0, 3, 6};
        final int[] lengths = {3, 3, 1};
        for (int i = 0; i < 3; i++) {
            final Embedding e = es.get(i);
            assertThat(e.getIndex()).isEqualTo(i);
            assertThat(e.getStart()).isEqualTo(starts[i]);
            assertThat(e.getLength()).isEqualTo(lengths[i]);
            assertThat(e.getFinal$()).isEqualTo(i == 2);
            assertThat(e.getMetrics().getSequenceLength()).isEqualTo(starts[i] + lengths[i]);
            assertThat(e.getMetrics().getCacheHitTokens()).isEqualTo(starts[i]);
        }
        // The last vector is the causal prefix embedding of the whole sequence, computed in one go.
        final BertModel bert = small.attention();
        final KvCache once = bert.newCache();
        assertClose(Vectors.toArray(es.get(2).getVector()), bert.appendCausal(once, a, Pooling.MEAN, true));
    }

    private static void assertClose(final float[] got, final float[] want) {
        assertThat(got).hasSize(want.length);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).as("component %d", i)
                    .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void versionExitsZero() {
        final Result r = run("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("seqembed");
    }

    @Test
    void outputWritesNothingForAnEmptyInput() throws Exception {
        final Path in = jsonl("blank.jsonl", "", "   ");
        final Path out = dir.resolve("blank-out.jsonl");
        final Result r = run("embed", "--path", "dense", "--model", dir.resolve("small/dense").toString(),
                "--input", in.toString(), "--output", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.readAllLines(out)).isEmpty();
    }
}
