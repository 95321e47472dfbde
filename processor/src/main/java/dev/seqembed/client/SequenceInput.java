package dev.seqembed.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.avro.TokenChunk;
import dev.seqembed.config.UserException;

/**
 * A token sequence as users write it, one JSON object per line: {@code {"sequence_id": "a", "tokens": [101, 7]}}.
 *
 * @param sequenceId the sequence's id
 * @param tokens its token ids
 */
public record SequenceInput(String sequenceId, int[] tokens) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Reads a JSONL file; a missing file or a malformed line is a {@link UserException} naming the file and line.
     */
    public static List<SequenceInput> readJsonl(final Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new UserException("input file not found: " + file);
        }
        final List<SequenceInput> out = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank()) {
                    continue;
                }
                out.add(parse(line, file + ":" + number));
            }
        }
        return out;
    }

    private static SequenceInput parse(final String line, final String where) {
        try {
            final JsonNode node = JSON.readTree(line);
            final JsonNode id = node.get("sequence_id");
            final JsonNode tokens = node.get("tokens");
            if (id == null || !id.isTextual() || tokens == null || !tokens.isArray()) {
                throw new UserException(where + ": expected {\"sequence_id\": string, \"tokens\": [int, ...]}");
            }
            final int[] t = new int[tokens.size()];
            for (int i = 0; i < t.length; i++) {
                if (!tokens.get(i).canConvertToInt()) {
                    throw new UserException(where + ": token " + i + " is not an integer");
                }
                t[i] = tokens.get(i).asInt();
            }
            return new SequenceInput(id.asText(), t);
        } catch (final com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UserException(where + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
    }

    /** The TokenChunks of this sequence, of at most {@code chunk} tokens each (chunk &lt;= 0: one chunk). */
    public List<TokenChunk> toChunks(final int chunk) {
        final List<int[]> parts = chunks(chunk);
        final List<TokenChunk> out = new ArrayList<>(parts.size());
        for (int i = 0; i < parts.size(); i++) {
            out.add(chunk(sequenceId, i, parts.get(i), i == parts.size() - 1));
        }
        return out;
    }

    /** One TokenChunk as producers send it (no attributes). */
    public static TokenChunk chunk(final String sequenceId, final int index, final int[] tokens, final boolean last) {
        return TokenChunk.newBuilder().setSequenceId(sequenceId).setChunkIndex(index)
                .setTokens(java.util.Arrays.stream(tokens).boxed().toList()).setLast(last)
                .setAttributes(java.util.Map.of()).build();
    }

    /** Splits into chunks of at most {@code chunk} tokens (chunk &lt;= 0: one chunk). */
    public List<int[]> chunks(final int chunk) {
        final List<int[]> out = new ArrayList<>();
        if (chunk <= 0 || tokens.length <= chunk) {
            out.add(tokens);
            return out;
        }
        for (int i = 0; i < tokens.length; i += chunk) {
            out.add(java.util.Arrays.copyOfRange(tokens, i, Math.min(tokens.length, i + chunk)));
        }
        return out;
    }
}
