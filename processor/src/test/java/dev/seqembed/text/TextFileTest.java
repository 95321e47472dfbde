package dev.seqembed.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.config.UserException;

/** The two forms of a text file (SPEC §10.2) and their sequence ids. */
class TextFileTest {

    @TempDir
    Path dir;

    private final List<String> skipped = new ArrayList<>();

    private List<TextFile.Text> read(final String content) throws Exception {
        return TextFile.read(Files.writeString(dir.resolve("in.txt"), content), skipped::add);
    }

    @Test
    void oneTextPerLineIsNamedByItsLineNumberAndEmptyLinesAreSkippedAndReported() throws Exception {
        final List<TextFile.Text> texts = read("first text\n\n   \n{not json} fourth\nfifth\n");
        assertThat(texts).containsExactly(
                new TextFile.Text("text-1", "first text", 1),
                new TextFile.Text("text-4", "{not json} fourth", 4),
                new TextFile.Text("text-5", "fifth", 5));
        assertThat(skipped).hasSize(2);
        assertThat(skipped.get(0)).contains("text-2").contains(":2").contains("empty text");
        assertThat(skipped.get(1)).contains("text-3");
    }

    @Test
    void jsonlTakesIdsFromTheObjectsAndLineNumbersWhereThereIsNone() throws Exception {
        final List<TextFile.Text> texts = read("""
                {"id": "doc-a", "text": "alpha"}
                {"text": "no id here"}

                {"id": 42, "text": "numeric id"}
                {"id": "doc-empty", "text": ""}
                {"id": "doc-b", "text": "beta", "extra": true}
                """);
        assertThat(texts).containsExactly(
                new TextFile.Text("doc-a", "alpha", 1),
                new TextFile.Text("text-2", "no id here", 2),
                new TextFile.Text("42", "numeric id", 4),
                new TextFile.Text("doc-b", "beta", 6));
        assertThat(skipped).singleElement().asString().contains("doc-empty").contains("empty text");
    }

    @Test
    void aMalformedJsonlLineNamesFileAndLine() throws Exception {
        assertThatThrownBy(() -> read("{\"id\": \"a\", \"text\": \"x\"}\nplain words\n"))
                .isInstanceOf(UserException.class).hasMessageContaining("in.txt:2").hasMessageContaining("JSON");
        assertThatThrownBy(() -> read("{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"b\"}\n"))
                .isInstanceOf(UserException.class).hasMessageContaining("in.txt:2");
    }

    @Test
    void aMissingFileIsAUserError() {
        assertThatThrownBy(() -> TextFile.read(dir.resolve("nope.txt"), skipped::add))
                .isInstanceOf(UserException.class).hasMessageContaining("nope.txt");
    }
}
