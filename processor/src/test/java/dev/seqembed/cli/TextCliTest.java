package dev.seqembed.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.serde.EmbeddingJson;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.engine.Vectors;
import dev.seqembed.testing.Cli;
import dev.seqembed.testing.MiniLm;

/** {@code embed --text FILE --tokenizer PATH} (SPEC §10.2) with the real MiniLM tokenizer and the default models. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TextCliTest {

    @TempDir
    static Path dir;

    private static Path tokenizer;

    @BeforeAll
    static void tokenizer() {
        tokenizer = MiniLm.tokenizer(dir.resolve("minilm"));
    }

    private static List<Embedding> embed(final Path text, final String... extra) throws Exception {
        final Path out = dir.resolve("out-" + System.nanoTime() + ".jsonl");
        final List<String> args = new ArrayList<>(List.of("embed", "--text", text.toString(), "--tokenizer",
                tokenizer.toString(), "--output", out.toString()));
        args.addAll(List.of(extra));
        final Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        final List<Embedding> embeddings = new ArrayList<>();
        for (final String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            embeddings.add(EmbeddingJson.read(line));
        }
        return embeddings;
    }

    @Test
    void plainTextLinesBecomeSequencesNamedByLineAndEmptyLinesAreReported() throws Exception {
        final Path text = Files.writeString(dir.resolve("plain.txt"), "hello world\n\nHello, World!\n");
        final Path out = dir.resolve("plain.jsonl");
        final Cli.Result r = Cli.run("embed", "--path", "attention", "--text", text.toString(),
                "--tokenizer", tokenizer.getParent().toString(), "--output", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("skipped text-2").contains("empty text");
        final List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertThat(lines).hasSize(2);
        final Embedding first = EmbeddingJson.read(lines.get(0));
        assertThat(first.getSequenceId()).isEqualTo("text-1");
        assertThat(first.getLength()).isEqualTo(4);
        assertThat(EmbeddingJson.read(lines.get(1)).getSequenceId()).isEqualTo("text-3");

        // The vector is the default attention model's on exactly [CLS] hello world [SEP].
        final BertModel model = BertModel.load(ModelDirs.defaultModels().resolve("attention"));
        assertThat(Vectors.toArray(first.getVector()))
                .containsExactly(model.encode(new int[] {101, 7592, 2088, 102}, Pooling.MEAN, true));
    }

    @Test
    void jsonlIdsNameTheEmbeddingsOnTheDensePath() throws Exception {
        final Path text = Files.writeString(dir.resolve("docs.jsonl"), """
                {"id": "doc-a", "text": "The café is unaffable."}
                {"text": "Kafka Streams embeds tokens"}
                """);
        final List<Embedding> out = embed(text, "--path", "dense");
        // dense default window 16: 9 and 11 tokens give one window each
        assertThat(out).extracting(Embedding::getSequenceId, Embedding::getLength)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("doc-a", 9),
                        org.assertj.core.groups.Tuple.tuple("text-2", 11));
    }

    @Test
    void aMissingTokenizerIsOneLineAndExitTwo() throws Exception {
        final Path text = Files.writeString(dir.resolve("one.txt"), "hello\n");
        final Cli.Result r = Cli.run("embed", "--path", "dense", "--text", text.toString(), "--tokenizer",
                dir.resolve("nowhere").toString(), "--output", dir.resolve("x.jsonl").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().contains("no tokenizer.json at");
        final Cli.Result both = Cli.run("embed", "--path", "dense", "--text", text.toString(), "--tokenizer",
                tokenizer.toString(), "--input", text.toString(), "--output", dir.resolve("x.jsonl").toString());
        assertThat(both.exit()).isEqualTo(2);
        assertThat(both.errLines()).hasSize(1);
    }
}
