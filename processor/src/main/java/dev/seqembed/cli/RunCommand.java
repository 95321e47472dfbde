package dev.seqembed.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.platform.NativeSetup;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.topology.Models;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code run}: the processor, until stopped (SIGTERM / Ctrl-C close it cleanly). */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Run the stream processor against a Kafka cluster.")
public final class RunCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Mixin
    ApplicationOptions application;

    @Option(names = "--dense-model", paramLabel = "DIR", description = "window-mlp model directory (default: built-in).")
    Path denseModel;

    @Option(names = "--attention-model", paramLabel = "DIR", description = "BERT model directory (default: built-in).")
    Path attentionModel;

    @Option(names = "--attention-mode", paramLabel = "MODE", description = "encoder | causal (default encoder).")
    String attentionMode;

    @Option(names = "--role", paramLabel = "ROLE",
            description = "all | ingest (validation, DLQ, windows, dense) | attention (default all).")
    String role;

    @Option(names = "--http-port", paramLabel = "P", description = "Port of /metrics and /health (default 8080; 0 = off).")
    Integer httpPort;

    @Override
    public Integer call() throws Exception {
        final Map<String, String> cli = new HashMap<>();
        putIf(cli, SeqembedConfig.DENSE_MODEL, denseModel);
        putIf(cli, SeqembedConfig.ATTENTION_MODEL, attentionModel);
        putIf(cli, SeqembedConfig.ATTENTION_MODE, attentionMode);
        putIf(cli, SeqembedConfig.HTTP_PORT, httpPort);
        putIf(cli, SeqembedConfig.ROLE, role);
        final SeqembedConfig config = application.resolve(options, cli);
        config.attentionMode();
        config.attentionOverflow();
        config.role();
        ClusterCheck.requireReachable(config.streamsProperties());
        NativeSetup.forProcessor(config);
        final SeqembedConfig withModels = withModelDirs(config);
        final Models models = Models.load(Path.of(withModels.get(SeqembedConfig.DENSE_MODEL)),
                Path.of(withModels.get(SeqembedConfig.ATTENTION_MODEL)));
        final SeqembedApp app = SeqembedApp.start(withModels, models);
        final CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close();
            closed.countDown();
        }, "seqembed-shutdown"));
        app.awaitStop();
        if (app.failed()) {
            System.err.println("seqembed run: the stream processor failed; see the log above");
            app.close();
            return 1;
        }
        closed.await();
        return 0;
    }

    /**
     * The config with both model directories set: the configured ones, or the built-in defaults for the ones
     * not configured (the directories the model watcher then watches).
     */
    static SeqembedConfig withModelDirs(final SeqembedConfig config) throws java.io.IOException {
        final String dense = config.get(SeqembedConfig.DENSE_MODEL);
        final String attention = config.get(SeqembedConfig.ATTENTION_MODEL);
        final Path defaults = dense == null || attention == null ? ModelDirs.defaultModels() : null;
        return config.with(SeqembedConfig.DENSE_MODEL, dense != null ? dense : defaults.resolve("dense").toString())
                .with(SeqembedConfig.ATTENTION_MODEL,
                        attention != null ? attention : defaults.resolve("attention").toString());
    }

    private static void putIf(final Map<String, String> map, final String key, final Object value) {
        if (value != null) {
            map.put(key, value.toString());
        }
    }
}
