package dev.seqembed.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.config.UserException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.testing.MiniLm;

/**
 * The real all-MiniLM-L6-v2 tokenizer.json (BERT uncased WordPiece). Its file asks for truncation to 128 and
 * fixed padding to 128: both must be ignored. Expected ids are looked up by hand in the file's vocabulary.
 */
class TextTokenizerTest {

    @TempDir
    static Path dir;

    private static Path file;
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        file = MiniLm.tokenizer(dir.resolve("minilm"));
        tokenizer = TextTokenizer.load(file, dir.resolve("native-cache"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void theFileReallyAsksForTruncationAndPadding() throws Exception {
        // Guards the meaning of the tests below: without these settings in the file they would prove nothing.
        final JsonNode json = new ObjectMapper().readTree(file.toFile());
        assertThat(json.get("truncation").get("max_length").asInt()).isEqualTo(128);
        assertThat(json.get("padding").get("strategy").get("Fixed").asInt()).isEqualTo(128);
    }

    @Test
    void idsAreTheVocabularysWithClsAndSep() {
        // [CLS]=101 [SEP]=102; hello=7592 world=2088 ","=1010 "!"=999 (lower-cased by the normaliser)
        assertThat(tokenizer.encode("hello world")).containsExactly(101, 7592, 2088, 102);
        assertThat(tokenizer.encode("Hello, World!")).containsExactly(101, 7592, 1010, 2088, 999, 102);
        // accents stripped (café -> cafe=7668), WordPiece continuation: una=14477 ##ffa=20961 ##ble=3468, "."=1012
        assertThat(tokenizer.encode("The café is unaffable.")).containsExactly(101, 1996, 7668, 2003, 14477, 20961,
                3468, 1012, 102);
        // ka=10556 ##fk=24316 ##a=2050 streams=9199 em=7861 ##bed=8270 ##s=2015 token=19204
        assertThat(tokenizer.encode("Kafka Streams embeds tokens")).containsExactly(101, 10556, 24316, 2050, 9199,
                7861, 8270, 2015, 19204, 2015, 102);
        // not in the vocabulary: [UNK]=100
        assertThat(tokenizer.encode("hello 🙂")).containsExactly(101, 7592, 100, 102);
    }

    @Test
    void aLongTextIsNeitherTruncatedNorPadded() {
        final String text = String.join(" ", java.util.Collections.nCopies(700, "world"));
        final int[] ids = tokenizer.encode(text);
        assertThat(ids).hasSize(702);
        assertThat(ids[0]).isEqualTo(101);
        assertThat(ids[701]).isEqualTo(102);
        assertThat(Arrays.copyOfRange(ids, 1, 701)).containsOnly(2088);
    }

    @Test
    void aDirectoryHoldingTokenizerJsonWorksToo() {
        try (TextTokenizer fromDir = TextTokenizer.load(file.getParent(), dir.resolve("native-cache"))) {
            assertThat(fromDir.encode("hello world")).containsExactly(101, 7592, 2088, 102);
            assertThat(fromDir.file()).isEqualTo(file);
        }
    }

    @Test
    void aMissingOrBrokenTokenizerIsAUserError() throws Exception {
        assertThatThrownBy(() -> TextTokenizer.load(dir.resolve("nowhere"), dir))
                .isInstanceOf(UserException.class).hasMessageContaining("no tokenizer.json at");
        final Path broken = Files.writeString(dir.resolve("broken.json"), "{\"version\": \"1.0\"}");
        assertThatThrownBy(() -> TextTokenizer.load(broken, dir))
                .isInstanceOf(UserException.class).hasMessageContaining("is not a Hugging Face tokenizer.json");
    }

    @Test
    void theNativeLibraryIsExtractedUnderTheGivenCacheDirectory() throws Exception {
        try (var files = Files.walk(dir.resolve("native-cache"))) {
            assertThat(files.map(p -> p.getFileName().toString())).contains("libtokenizers.so");
        }
    }
}
