package dev.seqembed.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.config.UserException;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** Reads a {@code --input} JSONL file; what is wrong with it is a usage error of the command (exit 2, see --help). */
final class JsonlInput {

    private JsonlInput() {
    }

    static List<SequenceInput> read(final Path file, final CommandLine commandLine) throws IOException {
        try {
            return SequenceInput.readJsonl(file);
        } catch (final UserException e) {
            throw new ParameterException(commandLine, e.getMessage());
        }
    }
}
