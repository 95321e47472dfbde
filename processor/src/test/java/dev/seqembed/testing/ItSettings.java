package dev.seqembed.testing;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.streams.StreamsConfig;

import dev.seqembed.config.SeqembedConfig;

/** Settings several integration tests start their processor with. */
public final class ItSettings {

    private ItSettings() {
    }

    /**
     * A causal-mode processor on the test broker with its own application id and state directory, an ephemeral
     * HTTP port, and dense micro-batches flushed within 50 ms (so a test does not wait out the default). Mutable:
     * the test adds its own settings.
     */
    public static Map<String, String> causal(final String bootstrapServers, final String applicationId,
                                             final Path stateDir) {
        final Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", bootstrapServers);
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        m.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        m.put(SeqembedConfig.ATTENTION_MODE, "causal");
        m.put(SeqembedConfig.HTTP_PORT, "0");
        m.put(SeqembedConfig.DENSE_BATCH_MAX_WAIT_MS, "50");
        return m;
    }
}
