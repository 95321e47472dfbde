package dev.seqembed.client;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import dev.seqembed.platform.UserDirs;
import dev.seqembed.text.TextFile;
import dev.seqembed.text.TextTokenizer;

/** A file of texts as token sequences (SPEC §10.2), for {@code produce --text} and {@code embed --text}. */
public final class TextSequences {

    private TextSequences() {
    }

    /**
     * Reads the texts of {@code textFile} and tokenizes each with the tokenizer at {@code tokenizer}; the
     * tokenizer's native library goes under the user's cache ({@code ~/.cache/seqembed/djl}).
     *
     * @param skipped receives one line per empty text left out
     * @throws dev.seqembed.config.UserException if the file or the tokenizer cannot be used
     */
    public static List<SequenceInput> read(final Path textFile, final Path tokenizer, final Consumer<String> skipped)
            throws IOException {
        try (TextTokenizer t = TextTokenizer.load(tokenizer, UserDirs.cacheRoot().resolve("djl"))) {
            final List<TextFile.Text> texts = TextFile.read(textFile, skipped);
            final List<SequenceInput> out = new ArrayList<>(texts.size());
            for (final TextFile.Text text : texts) {
                out.add(new SequenceInput(text.id(), t.encode(text.text())));
            }
            return out;
        }
    }
}
