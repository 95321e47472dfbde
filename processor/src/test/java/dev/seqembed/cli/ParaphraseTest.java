package dev.seqembed.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.engine.Vectors;
import dev.seqembed.serde.EmbeddingJson;
import dev.seqembed.testing.Cli;
import dev.seqembed.testing.MiniLm;

/**
 * Text in with the real all-MiniLM-L6-v2 (imported from its ONNX export, tokenizer.json beside it): a paraphrase
 * pair lies closer (cosine) than an unrelated pair, through {@code embed --text … --tokenizer …}.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ParaphraseTest {

    @TempDir
    Path dir;

    @Test
    void aParaphrasePairIsCloserThanAnUnrelatedPair() throws Exception {
        final Path model = MiniLm.importedDir();
        final Path text = Files.writeString(dir.resolve("pairs.jsonl"), """
                {"id": "cat", "text": "A cat is sitting on the mat."}
                {"id": "cat-paraphrase", "text": "There is a cat sitting on the rug."}
                {"id": "market", "text": "Stock markets fell sharply after the interest rate rise."}
                {"id": "password", "text": "How do I reset my password?"}
                {"id": "password-paraphrase", "text": "I forgot my password, how can I change it?"}
                """);
        final Path out = dir.resolve("out.jsonl");
        final Cli.Result r = Cli.run("embed", "--path", "attention", "--model", model.toString(), "--text",
                text.toString(), "--tokenizer", model.toString(), "--output", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        final Map<String, float[]> v = new HashMap<>();
        for (final String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            final Embedding e = EmbeddingJson.read(line);
            v.put(e.getSequenceId(), Vectors.toArray(e.getVector()));
        }
        final double catPara = cosine(v.get("cat"), v.get("cat-paraphrase"));
        final double pwPara = cosine(v.get("password"), v.get("password-paraphrase"));
        for (final String a : new String[] {"cat", "cat-paraphrase", "password", "password-paraphrase"}) {
            final double unrelated = cosine(v.get(a), v.get("market"));
            assertThat(Math.min(catPara, pwPara)).as("paraphrases vs %s/market", a).isGreaterThan(unrelated + 0.2);
        }
        assertThat(cosine(v.get("cat"), v.get("password"))).isLessThan(catPara);
    }

    private static double cosine(final float[] a, final float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
