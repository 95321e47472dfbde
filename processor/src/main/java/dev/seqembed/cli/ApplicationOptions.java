package dev.seqembed.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.streams.StreamsConfig;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.platform.UserDirs;
import picocli.CommandLine.Option;

/**
 * Options naming one application and where its instance keeps local state, shared by {@code run} and
 * {@code reset} so that {@code reset} removes the state directory {@code run} wrote.
 */
public final class ApplicationOptions {

    @Option(names = "--application-id", paramLabel = "ID", description = "Kafka Streams application.id (default seqembed).")
    String applicationId;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Kafka Streams state directory (default ~/.local/share/seqembed/state).")
    Path stateDir;

    /**
     * The settings ({@link ConfigOptions#resolve}) with these flags added to {@code cli}, and the state directory
     * defaulting to the user's data directory: not Kafka Streams' /tmp/kafka-streams, which the OS may clear under
     * a running processor.
     */
    SeqembedConfig resolve(final ConfigOptions options, final Map<String, String> cli) throws IOException {
        final Map<String, String> flags = new HashMap<>(cli);
        if (applicationId != null) {
            flags.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        }
        if (stateDir != null) {
            flags.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        }
        final SeqembedConfig resolved = options.resolve(flags);
        return resolved.get(StreamsConfig.STATE_DIR_CONFIG) != null ? resolved
                : resolved.with(StreamsConfig.STATE_DIR_CONFIG, UserDirs.dataRoot().resolve("state").toString());
    }
}
