package dev.seqembed.it;

import dev.seqembed.cli.BrokerCommand;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code seqembed broker}: ready line, a real listener on the fixed port, clean stop, busy port. */
final class BrokerCommandIT {

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void runsUntilStoppedOnTheGivenPortAndDataDir(@TempDir final Path tmp) throws Exception {
        final int port;
        try (ServerSocket probe = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        final Path dataDir = tmp.resolve("data");
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine cmd = new CommandLine(new BrokerCommand())
            .setOut(new PrintWriter(out, true))
            .setErr(new PrintWriter(err, true));
        final AtomicInteger exit = new AtomicInteger(-1);
        final Thread runner = new Thread(
            () -> exit.set(cmd.execute("--port", Integer.toString(port), "--data-dir", dataDir.toString())),
            "broker-command");
        runner.start();

        await().atMost(Duration.ofSeconds(30)).until(() -> out.toString().contains("broker ready"));
        assertThat(out.toString().strip())
            .isEqualTo("broker ready at localhost:" + port + " (data: " + dataDir.toAbsolutePath() + ")");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:" + port))) {
            assertThat(admin.describeCluster().nodes().get(10, TimeUnit.SECONDS)).hasSize(1);
        }

        runner.interrupt();
        runner.join(30_000);
        assertThat(runner.isAlive()).isFalse();
        assertThat(exit.get()).isZero();
        assertThat(dataDir.resolve("meta.properties")).exists();
        assertThat(err.toString()).isEmpty();
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void busyPortIsOneLineAndExitCode2(@TempDir final Path tmp) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            final int exit = new CommandLine(new BrokerCommand())
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute("--port", Integer.toString(taken.getLocalPort()), "--data-dir", tmp.toString());
            assertThat(exit).isEqualTo(2);
            assertThat(out.toString()).isEmpty();
            assertThat(err.toString().strip().lines()).hasSize(1)
                .first().asString().contains("port " + taken.getLocalPort() + " is already in use");
        }
    }
}
