package dev.seqembed.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import dev.seqembed.cli.Main;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.TextSequences;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.DefaultModels;

/**
 * docker-compose.yml without Docker (none here): it parses, the commands of the seqembed services are valid for
 * this command line, the producer's default text and tokenizer exist, and the sample tokenizes into ids the
 * default models accept, one text longer than 512 tokens so that windows show.
 */
class ComposeFileTest {

    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern DEFAULTED = Pattern.compile("\\$\\{(\\w+):-([^}]*)}");

    private static JsonNode services;

    @BeforeAll
    static void parse() throws Exception {
        services = new ObjectMapper(new YAMLFactory()).readTree(REPO.resolve("docker-compose.yml").toFile())
                .get("services");
    }

    /** The value compose uses when the variable is unset: {@code ${RATE:-2}} → {@code 2}. */
    private static String withDefaults(final String s) {
        final Matcher m = DEFAULTED.matcher(s);
        return m.replaceAll(r -> Matcher.quoteReplacement(r.group(2)));
    }

    private static List<String> command(final String service) {
        final List<String> out = new ArrayList<>();
        services.get(service).get("command").forEach(a -> out.add(withDefaults(a.asText())));
        return out;
    }

    @Test
    void theSeqembedServicesCommandsParse() {
        assertThat(services.fieldNames()).toIterable().contains("kafka", "topic-init", "processor-ingest",
                "processor-attention", "producer");
        for (final String service : List.of("processor-ingest", "processor-attention", "producer")) {
            Main.commandLine().parseArgs(command(service).toArray(String[]::new));
        }
        assertThat(command("processor-ingest")).containsSubsequence("--role", "ingest");
        assertThat(command("processor-attention")).containsSubsequence("--role", "attention");
        assertThat(command("producer")).containsSubsequence("produce", "--text").contains("--tokenizer", "--loop");
        assertThat(services.get("producer").get("image").asText())
                .isEqualTo(services.get("processor-ingest").get("image").asText());
        assertThat(SeqembedConfig.fromEnvironment(java.util.Map.of("SEQEMBED_ATTENTION_OVERFLOW",
                services.get("processor-ingest").get("environment").get("SEQEMBED_ATTENTION_OVERFLOW").asText())))
                .containsEntry("attention.overflow", "window");
    }

    @Test
    void theProducersDefaultTextTokenizesIntoIdsTheDefaultModelsAccept() throws Exception {
        Path text = null;
        Path tokenizer = null;
        for (final JsonNode v : services.get("producer").get("volumes")) {
            final String[] parts = withDefaults(v.asText()).split(":");
            final Path host = REPO.resolve(parts[0]).normalize();
            assertThat(host).as("mounted file %s", parts[0]).isRegularFile();
            if (parts[1].equals("/input/texts")) {
                text = host;
            } else if (parts[1].equals("/input/tokenizer.json")) {
                tokenizer = host;
            }
        }
        assertThat(command("producer")).contains("/input/texts", "/input/tokenizer.json");
        final List<SequenceInput> sequences = TextSequences.read(text, tokenizer, line -> {
            throw new AssertionError("the sample has no empty text: " + line);
        });
        assertThat(sequences).hasSizeGreaterThan(30);
        final int vocab = Math.min(DefaultModels.ATTENTION_CONFIG.vocabSize(), DefaultModels.DENSE_CONFIG.vocabSize());
        assertThat(sequences).allSatisfy(s -> assertThat(java.util.Arrays.stream(s.tokens()).allMatch(t -> t >= 0 && t < vocab)).isTrue());
        assertThat(sequences).anySatisfy(s -> assertThat(s.tokens().length).isGreaterThan(512));
        assertThat(sequences).filteredOn(s -> s.tokens().length > 512).hasSize(1);
    }
}
