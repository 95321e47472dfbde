package dev.seqembed.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.TextSequences;
import picocli.CommandLine.Option;

/** The {@code --text FILE --tokenizer PATH} pair of {@code produce} and {@code embed} (SPEC §10.2). */
final class TextSource {

    @Option(names = "--text", required = true, paramLabel = "FILE",
            description = "One text per line, or JSONL {\"id\":…, \"text\":…}; sequence_id = id, else text-<line>.")
    Path file;

    @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
            description = "A Hugging Face tokenizer.json, or a directory holding one (special tokens added; "
                    + "never truncated or padded).")
    Path tokenizer;

    /** The texts as token sequences; empty texts are left out, one line each to {@code skipped}. */
    List<SequenceInput> read(final Consumer<String> skipped) throws IOException {
        return TextSequences.read(file, tokenizer, skipped);
    }
}
