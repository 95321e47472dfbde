package dev.seqembed.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.config.UserException;
import picocli.CommandLine.Option;

/** Options shared by commands that run the processor or talk to Kafka: where the brokers are, extra settings. */
public final class ConfigOptions {

    @Option(names = "--bootstrap-servers", paramLabel = "B", description = "Kafka bootstrap servers, e.g. localhost:9092.")
    String bootstrapServers;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file: seqembed settings and any Kafka client/Streams property (security included).")
    Path configFile;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", description = "One setting, overriding file and environment.")
    Map<String, String> overrides = new HashMap<>();

    /** Defaults, then the file, then SEQEMBED_* variables, then flags ({@code cli}) and {@code -D} settings. */
    public SeqembedConfig resolve(final Map<String, String> cli) throws IOException {
        final Map<String, String> file = new HashMap<>();
        if (configFile != null) {
            if (!Files.isRegularFile(configFile)) {
                throw new UserException("config file not found: " + configFile);
            }
            final Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(configFile)) {
                p.load(r);
            }
            p.forEach((k, v) -> file.put(k.toString(), v.toString()));
        }
        final Map<String, String> flags = new HashMap<>(cli);
        if (bootstrapServers != null) {
            flags.put("bootstrap.servers", bootstrapServers);
        }
        final SeqembedConfig config = SeqembedConfig.from(file, SeqembedConfig.fromEnvironment(System.getenv()),
                flags, overrides);
        if (config.get("bootstrap.servers") == null) {
            throw new UserException("--bootstrap-servers is required (or bootstrap.servers in --config)");
        }
        return config;
    }
}
