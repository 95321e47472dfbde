package dev.seqembed.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.StreamsConfig;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.runtime.ApplicationReset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code reset}: removes an application's internal topics, committed offsets and local state (SPEC §10.6). */
@Command(name = "reset", mixinStandardHelpOptions = true,
        description = {"Remove the application's internal topics (changelogs, repartition, attention chunks), the "
                + "committed offsets of both its consumer groups and its local state, so that it starts over from "
                + "the beginning of its input. Input and output topics stay.",
                "Without --yes it only lists what it would remove (exit 2). Refused while an instance runs."})
public final class ResetCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Mixin
    ApplicationOptions application;

    @Option(names = "--yes", description = "Remove; without it, only list.")
    boolean yes;

    @Override
    public Integer call() throws Exception {
        final SeqembedConfig config = application.resolve(options, Map.of());
        final Path state = Path.of(config.get(StreamsConfig.STATE_DIR_CONFIG));
        ClusterCheck.requireReachable(config.streamsProperties());
        try (Admin admin = ApplicationReset.admin(config)) {
            final ApplicationReset reset = ApplicationReset.plan(admin, config, state);
            final var out = spec.commandLine().getOut();
            if (!yes) {
                out.println("reset of application '" + config.applicationId() + "' would remove:");
                reset.describe().forEach(l -> out.println("  " + l));
                out.flush();
                spec.commandLine().getErr().println("seqembed reset: nothing removed; run again with --yes");
                return 2;
            }
            reset.execute(admin);
            reset.describe().forEach(l -> out.println("removed " + l));
            out.flush();
        }
        return 0;
    }
}
