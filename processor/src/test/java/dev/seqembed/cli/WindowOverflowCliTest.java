package dev.seqembed.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.engine.Vectors;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.serde.EmbeddingJson;
import dev.seqembed.testing.Chunks;
import dev.seqembed.testing.Cli;
import dev.seqembed.testing.TestModels;

/** {@code attention.overflow=window} on the command line (SPEC §10.3): offline embed, and causal mode refused. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class WindowOverflowCliTest {

    @TempDir
    static Path dir;

    private static Path attention;

    @BeforeAll
    static void models() throws Exception {
        TestModels.write(dir.resolve("small"));
        attention = dir.resolve("small/attention");
    }

    private static void assertOneLineExitTwo(final Cli.Result r, final String mention) {
        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().contains(mention).doesNotContain("Exception");
    }

    @Test
    void embedWritesOneEmbeddingPerWindowWithTheGivenStride() throws Exception {
        final int[] seq = Chunks.tokens(150, 1); // P = 64, stride 40: 1 + ceil(86 / 40) = 4 windows
        final Path in = Files.writeString(dir.resolve("long.jsonl"), "{\"sequence_id\": \"doc\", \"tokens\": "
                + Arrays.toString(seq) + "}\n");
        final Path out = dir.resolve("long-out.jsonl");
        final Cli.Result r = Cli.run("embed", "--path", "attention", "--model", attention.toString(),
                "--input", in.toString(), "--output", out.toString(), "-D", "attention.overflow=window",
                "-D", "attention.window-stride=40");
        assertThat(r.exit()).as(r.err()).isZero();
        final List<Embedding> got = new ArrayList<>();
        for (final String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            got.add(EmbeddingJson.read(line));
        }
        assertThat(got).extracting(Embedding::getStart).containsExactly(0, 40, 80, 86);
        assertThat(got).extracting(Embedding::getFinal$).containsExactly(false, false, false, true);
        final BertModel model = BertModel.load(attention);
        for (final Embedding e : got) {
            assertThat(e.getLength()).isEqualTo(64);
            assertThat(e.getMetrics().getSequenceLength()).isEqualTo(150);
            assertThat(Vectors.toArray(e.getVector())).containsExactly(model.encode(
                    Arrays.copyOfRange(seq, e.getStart(), e.getStart() + 64), Pooling.MEAN, true));
        }
        // Without window, the same sequence is skipped as too long.
        final Cli.Result rejected = Cli.run("embed", "--path", "attention", "--model", attention.toString(),
                "--input", in.toString(), "--output", dir.resolve("rejected.jsonl").toString());
        assertThat(rejected.exit()).isZero();
        assertThat(rejected.err()).contains("SEQUENCE_TOO_LONG");
    }

    @Test
    void windowInCausalModeIsRefusedAtStart() throws Exception {
        final Path in = Files.writeString(dir.resolve("short.jsonl"), "{\"sequence_id\": \"a\", \"tokens\": [1, 2]}\n");
        assertOneLineExitTwo(Cli.run("embed", "--path", "attention", "--model", attention.toString(), "--mode",
                "causal", "--input", in.toString(), "--output", dir.resolve("x.jsonl").toString(), "-D",
                "attention.overflow=window"), "attention.overflow=window");
        // run refuses before it touches Kafka (nothing listens on port 1)
        assertOneLineExitTwo(Cli.run("run", "--bootstrap-servers", "localhost:1", "--attention-mode", "causal",
                "-D", "attention.overflow=window"), "attention.overflow=window");
    }

    @Test
    void aStrideLargerThanThePositionsIsRefused() throws Exception {
        final Path in = Files.writeString(dir.resolve("s.jsonl"), "{\"sequence_id\": \"a\", \"tokens\": [1, 2]}\n");
        assertOneLineExitTwo(Cli.run("embed", "--path", "attention", "--model", attention.toString(), "--input",
                in.toString(), "--output", dir.resolve("y.jsonl").toString(), "-D", "attention.overflow=window", "-D",
                "attention.window-stride=65"), "attention.window-stride");
    }
}
