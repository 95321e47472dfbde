package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import dev.seqembed.serde.EmbeddingJson;
import dev.seqembed.cli.Main;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.avro.Embedding;

/** The offline side of the integration tests: the users' JSONL input and the {@code embed} command's output. */
final class OfflineEmbed {

    private OfflineEmbed() {
    }

    /** Writes sequences as the JSONL lines {@code produce --input} and {@code embed --input} read. */
    static Path writeJsonl(final Path file, final List<SequenceInput> sequences) throws IOException {
        final StringBuilder jsonl = new StringBuilder();
        for (final SequenceInput s : sequences) {
            jsonl.append("{\"sequence_id\":\"").append(s.sequenceId()).append("\",\"tokens\":")
                    .append(Arrays.toString(s.tokens())).append("}\n");
        }
        return Files.writeString(file, jsonl);
    }

    /** Runs {@code embed --input input --output <new file in dir> args…} in this JVM and reads what it wrote. */
    static List<Embedding> run(final Path input, final Path dir, final String... args) throws IOException {
        final Path out = dir.resolve("offline-" + UUID.randomUUID() + ".jsonl");
        final List<String> cmd = new ArrayList<>(List.of("embed", "--input", input.toString(), "--output",
                out.toString()));
        cmd.addAll(List.of(args));
        assertThat(Main.commandLine().execute(cmd.toArray(String[]::new))).isZero();
        return read(Files.readAllLines(out, StandardCharsets.UTF_8));
    }

    /** Parses Embedding JSON lines, skipping blank ones. */
    static List<Embedding> read(final List<String> lines) throws IOException {
        final List<Embedding> out = new ArrayList<>();
        for (final String line : lines) {
            if (!line.isBlank()) {
                out.add(EmbeddingJson.read(line));
            }
        }
        return out;
    }
}
