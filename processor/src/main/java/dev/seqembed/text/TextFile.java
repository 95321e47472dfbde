package dev.seqembed.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.config.UserException;

/**
 * A file of texts (SPEC §10.2): one text per line, or JSONL objects {@code {"id": …, "text": …}}. The form is
 * the file's, decided by its first non-blank line: a JSON object with a {@code "text"} field makes the whole
 * file JSONL (a plain-text line in it is then an error, not a text that happens to look like JSON).
 */
public final class TextFile {

    /** Prefix of the sequence id of a text without an id: {@code text-<line number from 1>}. */
    public static final String ID_PREFIX = "text-";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One text.
     *
     * @param id   the sequence id: the JSONL {@code "id"}, else {@code text-<line>}
     * @param text the text
     * @param line its line number in the file, from 1
     */
    public record Text(String id, String text, int line) {
    }

    private TextFile() {
    }

    /**
     * Reads the texts of a file; empty (blank) texts are left out and reported.
     *
     * @param skipped receives one line per text left out
     *
     * @throws UserException if the file is missing or a JSONL line is malformed (naming file and line)
     */
    public static List<Text> read(final Path file, final Consumer<String> skipped) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new UserException("text file not found: " + file);
        }
        final List<Text> out = new ArrayList<>();
        Boolean jsonl = null;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (jsonl == null && !line.isBlank()) {
                    jsonl = isJsonText(line);
                }
                final Text text = Boolean.TRUE.equals(jsonl) ? jsonLine(line, file, number)
                        : new Text(ID_PREFIX + number, line, number);
                if (text == null) {
                    continue;
                }
                if (text.text().isBlank()) {
                    skipped.accept("skipped " + text.id() + " (" + file + ":" + number + "): empty text");
                    continue;
                }
                out.add(text);
            }
        }
        return out;
    }

    private static boolean isJsonText(final String line) {
        if (!line.stripLeading().startsWith("{")) {
            return false;
        }
        try {
            final JsonNode node = JSON.readTree(line);
            return node != null && node.isObject() && node.has("text");
        } catch (final JsonProcessingException e) {
            return false;
        }
    }

    /** A JSONL line as a text; null for a blank line (not a record). */
    private static Text jsonLine(final String line, final Path file, final int number) {
        if (line.isBlank()) {
            return null;
        }
        final String where = file + ":" + number;
        final JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (final JsonProcessingException e) {
            throw new UserException(where + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        final JsonNode text = node == null ? null : node.get("text");
        if (text == null || !text.isTextual()) {
            throw new UserException(where + ": expected {\"id\": …, \"text\": string}");
        }
        final JsonNode id = node.get("id");
        if (id != null && !id.isNull() && !id.isValueNode()) {
            throw new UserException(where + ": \"id\" must be a string or a number");
        }
        final String sequenceId = id == null || id.isNull() || id.asText().isEmpty() ? ID_PREFIX + number
                : id.asText();
        return new Text(sequenceId, text.asText(), number);
    }
}
