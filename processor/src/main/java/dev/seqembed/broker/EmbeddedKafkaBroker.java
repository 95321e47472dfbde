package dev.seqembed.broker;

import kafka.server.BrokerServer;
import kafka.server.ControllerServer;
import kafka.server.FaultHandlerFactory;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.server.SharedServer;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.bootstrap.BootstrapMetadata;
import org.apache.kafka.metadata.properties.MetaPropertiesEnsemble;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.raft.QuorumConfig;
import org.apache.kafka.server.ServerSocketFactory;
import org.apache.kafka.server.common.MetadataVersion;
import org.apache.kafka.server.fault.LoggingFaultHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A single-node, combined-mode (broker + controller) KRaft Kafka broker running inside this JVM.
 *
 * <p>Used by {@code demo}, the standalone {@code broker} command and the integration tests when no
 * Docker engine is available. It assembles the same server objects as Kafka's own
 * {@code KafkaRaftServer} (and as {@code KafkaClusterTestKit}), but
 * <ul>
 *   <li>reads its identity from {@code meta.properties} on disk, so a persistent data directory
 *       survives restarts (the test kit generates fresh directory ids on every build and so cannot
 *       reopen a data directory it formatted before);</li>
 *   <li>formats the directory only when it is not formatted yet, with the latest
 *       <em>production</em> metadata version (DEPENDENCY-NOTES #6);</li>
 *   <li>pre-binds its sockets, so a port already in use fails fast with a {@link BindException}
 *       before anything else starts, and port 0 picks a free port without a race;</li>
 *   <li>logs faults instead of halting the JVM (the production fault handler calls
 *       {@code Exit.halt}, which would kill the demo or the test run).</li>
 * </ul>
 * The client listener is advertised as {@code localhost:PORT}, so clients in other processes on
 * this machine can connect. It binds to the loopback interface only; optionally it authenticates one
 * SASL/SCRAM user ({@link #start(int, Path, ScramUser)}).
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    private static final int NODE_ID = 1;
    private static final String BROKER_LISTENER = "PLAINTEXT";
    /** With SASL: the client listener on the given port. */
    private static final String SASL_LISTENER = "CLIENT";
    /** With SASL: the broker's own loopback listener (inter-broker traffic, this class's admin client). */
    private static final String INTERNAL_LISTENER = "INTERNAL";
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final long STARTUP_TIMEOUT_MS = TimeUnit.SECONDS.toMillis(60);

    private final Path dataDir;
    private final boolean deleteOnClose;
    private final int port;
    /** Where this class's own admin client connects: the client port, or the internal one with SASL. */
    private final int adminPort;
    private final ScramUser scram;
    private final ControllerServer controller;
    private final BrokerServer broker;
    private final Metrics metrics;
    private final Map<String, ServerSocketChannel> preboundSockets;
    private Admin admin;
    private boolean closed;

    private EmbeddedKafkaBroker(final Path dataDir, final boolean deleteOnClose, final int port, final int adminPort,
                                final ScramUser scram, final ControllerServer controller,
                                final BrokerServer broker, final Metrics metrics,
                                final Map<String, ServerSocketChannel> preboundSockets) {
        this.dataDir = dataDir;
        this.deleteOnClose = deleteOnClose;
        this.port = port;
        this.adminPort = adminPort;
        this.scram = scram;
        this.controller = controller;
        this.broker = broker;
        this.metrics = metrics;
        this.preboundSockets = preboundSockets;
    }

    /**
     * Starts a broker and returns once it is registered, unfenced and answering clients.
     *
     * @param port    client port, advertised as {@code localhost:port}; 0 picks a free port
     * @param dataDir log and metadata directory, formatted on first use and reused afterwards;
     *                {@code null} for a temporary directory deleted on {@link #close()}
     * @return the running broker
     * @throws BindException if the port is already in use
     * @throws Exception     if the broker cannot be started (bad or locked data directory, …)
     */
    public static EmbeddedKafkaBroker start(final int port, final Path dataDir) throws Exception {
        return start(port, dataDir, null);
    }

    /**
     * Starts a broker whose client listener is SASL_PLAINTEXT with SCRAM-SHA-512 and the one user given (SPEC
     * §10.6); the user's credential is created (or its password replaced) at every start, so a data directory
     * formatted without it works too. Inter-broker traffic uses a second, loopback-only PLAINTEXT listener, as
     * the controller listener already is: the in-JVM broker is for local work.
     *
     * @param scram the one user; null for a PLAINTEXT client listener without authentication
     */
    public static EmbeddedKafkaBroker start(final int port, final Path dataDir, final ScramUser scram)
        throws Exception {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535: " + port);
        }
        final long startNanos = System.nanoTime();
        final Map<String, ServerSocketChannel> sockets = new HashMap<>();
        final boolean temporary = dataDir == null;
        final Path dir = temporary
            ? Files.createTempDirectory("seqembed-broker-")
            : dataDir.toAbsolutePath().normalize();
        ControllerServer controller = null;
        BrokerServer broker = null;
        Metrics metrics = null;
        try {
            // Bind first: a busy port must fail before the data directory is touched.
            final int brokerPort = bind(sockets, scram == null ? BROKER_LISTENER : SASL_LISTENER, port);
            final int internalPort = scram == null ? brokerPort : bind(sockets, INTERNAL_LISTENER, 0);
            final int controllerPort = bind(sockets, CONTROLLER_LISTENER, 0);
            Files.createDirectories(dir);

            final Map<String, Object> props = scram == null ? serverProps(dir, brokerPort, controllerPort)
                : saslServerProps(dir, brokerPort, internalPort, controllerPort);
            final KafkaConfig config = new KafkaConfig(props, false);
            formatIfNeeded(dir);
            // Reads meta.properties and the bootstrap checkpoint back from disk, as KafkaRaftServer does.
            final var logDirs = KafkaRaftServer.initializeLogDirs(config, LOG, "");
            final MetaPropertiesEnsemble ensemble = logDirs._1();
            final BootstrapMetadata bootstrap = logDirs._2();

            metrics = new Metrics();
            final SharedServer shared = new SharedServer(
                config,
                ensemble,
                Time.SYSTEM,
                metrics,
                CompletableFuture.completedFuture(
                    QuorumConfig.parseVoterConnections(config.quorumConfig().voters())),
                QuorumConfig.parseBootstrapServers(config.quorumConfig().bootstrapServers()),
                new LoggingFaultHandlerFactory(),
                new PreboundSocketFactory(sockets));
            controller = new ControllerServer(shared, KafkaRaftServer.configSchema(), bootstrap);
            broker = new BrokerServer(shared);
            // Same order as KafkaRaftServer.startup(): the controller first, then the broker, which
            // returns once the controller has unfenced it.
            controller.startup();
            broker.startup();

            final EmbeddedKafkaBroker result = new EmbeddedKafkaBroker(
                dir, temporary, brokerPort, internalPort, scram, controller, broker, metrics, sockets);
            result.awaitReady();
            if (scram != null) {
                result.createScramUser();
            }
            LOG.info("Kafka broker ready at {} in {} ms (data: {})", result.bootstrapServers(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos), dir);
            return result;
        } catch (Exception | Error e) {
            shutdownQuietly(broker, controller, metrics, sockets);
            if (temporary) {
                deleteQuietly(dir);
            }
            throw e;
        }
    }

    /** {@return the bootstrap servers string for clients, {@code localhost:PORT}} */
    public String bootstrapServers() {
        return "localhost:" + port;
    }

    /** {@return the properties a client needs besides bootstrap.servers: empty, or the SASL settings} */
    public Map<String, String> clientSecurityProperties() {
        return scram == null ? Map.of() : scram.clientProperties();
    }

    /** {@return the client port this broker listens on (the real one when started with 0)} */
    public int port() {
        return port;
    }

    /** {@return the data directory (a temporary one when started without)} */
    public Path dataDir() {
        return dataDir;
    }

    /**
     * Creates the given topics; topics that exist already are left as they are.
     *
     * @param topics topics to create (replication factor must be 1 or unset)
     * @throws Exception if a topic cannot be created for another reason
     */
    public synchronized void createTopics(final Collection<NewTopic> topics) throws Exception {
        if (topics.isEmpty()) {
            return;
        }
        final var futures = admin().createTopics(topics).values();
        final List<String> names = new ArrayList<>(futures.keySet());
        for (final var entry : futures.entrySet()) {
            try {
                entry.getValue().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw new IllegalStateException(
                        "cannot create topic " + entry.getKey() + ": " + e.getCause().getMessage(), e.getCause());
                }
            }
        }
        // The controller has committed the topics; wait until this broker's metadata has them too,
        // so a producer started right after this call does not see UNKNOWN_TOPIC_OR_PARTITION. Until
        // then describeTopics itself fails with that error (seen on a loaded machine): ask again.
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                admin().describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    /** Stops the broker; deletes the data directory if it was a temporary one. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        // An interrupted caller (Ctrl-C in a waiting thread, a test timeout) would cut the
        // controlled shutdown short and log errors: stop first, then restore the flag.
        final boolean interrupted = Thread.interrupted();
        try {
            if (admin != null) {
                admin.close(java.time.Duration.ofSeconds(5));
            }
            shutdownQuietly(broker, controller, metrics, preboundSockets);
            if (deleteOnClose) {
                deleteQuietly(dataDir);
            }
            LOG.info("Kafka broker at {} stopped", bootstrapServers());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized Admin admin() {
        if (closed) {
            throw new IllegalStateException("broker is closed");
        }
        if (admin == null) {
            admin = Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:" + adminPort,
                AdminClientConfig.CLIENT_ID_CONFIG, "seqembed-embedded-broker-admin"));
        }
        return admin;
    }

    private void awaitReady() throws Exception {
        final long deadline = System.currentTimeMillis() + STARTUP_TIMEOUT_MS;
        while (true) {
            try {
                if (!admin().describeCluster().nodes().get(10, TimeUnit.SECONDS).isEmpty()) {
                    return;
                }
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("broker did not become ready within "
                        + STARTUP_TIMEOUT_MS + " ms", e);
                }
            }
            Thread.sleep(50);
        }
    }

    /**
     * Creates (or replaces the password of) the SCRAM user, then waits until a client can authenticate with it:
     * the broker learns credentials from the metadata log a moment after the controller has them.
     */
    private void createScramUser() throws Exception {
        admin().alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(scram.name(),
            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), scram.password())))
            .all().get(30, TimeUnit.SECONDS);
        final Map<String, Object> client = new HashMap<>(scram.clientProperties());
        client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        client.put(AdminClientConfig.CLIENT_ID_CONFIG, "seqembed-embedded-broker-sasl-check");
        final long deadline = System.currentTimeMillis() + STARTUP_TIMEOUT_MS;
        try (Admin sasl = Admin.create(client)) {
            while (true) {
                try {
                    sasl.describeCluster().clusterId().get(10, TimeUnit.SECONDS);
                    return;
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    if (System.currentTimeMillis() > deadline) {
                        throw new IllegalStateException("SCRAM user " + scram.name() + " cannot authenticate", e);
                    }
                }
                Thread.sleep(100);
            }
        }
    }

    /** {@link #serverProps} with the client listener on SASL/SCRAM-SHA-512 and a loopback inter-broker one. */
    private static Map<String, Object> saslServerProps(final Path dir, final int clientPort, final int internalPort,
                                                       final int controllerPort) {
        final Map<String, Object> p = serverProps(dir, clientPort, controllerPort);
        p.put("listeners", SASL_LISTENER + "://localhost:" + clientPort + "," + INTERNAL_LISTENER + "://localhost:"
            + internalPort + "," + CONTROLLER_LISTENER + "://localhost:" + controllerPort);
        p.put("advertised.listeners", SASL_LISTENER + "://localhost:" + clientPort + "," + INTERNAL_LISTENER
            + "://localhost:" + internalPort);
        p.put("listener.security.protocol.map", SASL_LISTENER + ":SASL_PLAINTEXT," + INTERNAL_LISTENER
            + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("inter.broker.listener.name", INTERNAL_LISTENER);
        p.put("sasl.enabled.mechanisms", ScramUser.MECHANISM);
        final String prefix = "listener.name." + SASL_LISTENER.toLowerCase(java.util.Locale.ROOT) + "."
            + ScramUser.MECHANISM.toLowerCase(java.util.Locale.ROOT) + ".";
        p.put(prefix + "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        return p;
    }

    private static Map<String, Object> serverProps(final Path dir, final int brokerPort, final int controllerPort) {
        final Map<String, Object> p = new HashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", Integer.toString(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@localhost:" + controllerPort);
        p.put("listeners", BROKER_LISTENER + "://localhost:" + brokerPort + ","
            + CONTROLLER_LISTENER + "://localhost:" + controllerPort);
        p.put("advertised.listeners", BROKER_LISTENER + "://localhost:" + brokerPort);
        p.put("listener.security.protocol.map", BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("inter.broker.listener.name", BROKER_LISTENER);
        p.put("log.dirs", dir.toString());
        p.put("metadata.log.dir", dir.toString());
        // One node: internal topics must not ask for more replicas than exist (DEPENDENCY-NOTES #7).
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        // Streams reaches RUNNING ~3 s sooner without the initial rebalance delay.
        p.put("group.initial.rebalance.delay.ms", "0");
        // Topics are created explicitly, with their partition counts: a typo must not create one.
        p.put("auto.create.topics.enable", "false");
        // Small memory footprint for a laptop: the cleaner's dedupe buffer defaults to 128 MB.
        p.put("log.cleaner.dedupe.buffer.size", "2097152");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "4");
        p.put("num.recovery.threads.per.data.dir", "1");
        return p;
    }

    /** Formats {@code dir} unless it already holds a {@code meta.properties} (then it is reused). */
    private static void formatIfNeeded(final Path dir) throws Exception {
        if (Files.exists(dir.resolve(MetaPropertiesEnsemble.META_PROPERTIES_NAME))) {
            return;
        }
        final Formatter formatter = new Formatter()
            // The formatter reports to stdout, which commands use for their output (DEPENDENCY-NOTES #15).
            .setPrintStream(new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8))
            .setNodeId(NODE_ID)
            .setClusterId(Uuid.randomUuid().toString())
            .setDirectories(Set.of(dir.toString()))
            .setMetadataLogDirectory(dir.toString())
            .setControllerListenerName(CONTROLLER_LISTENER)
            // The test kit's default is latestTesting(), an unreleased version (DEPENDENCY-NOTES #6).
            .setReleaseVersion(MetadataVersion.latestProduction())
            .setIgnoreFormatted(true);
        formatter.run();
        LOG.info("Formatted new Kafka data directory {}", dir);
    }

    private static int bind(final Map<String, ServerSocketChannel> sockets, final String listener, final int port)
        throws IOException {
        final InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        try {
            final ServerSocketChannel channel = ServerSocketFactory.INSTANCE.openServerSocket(listener, address, -1, -1);
            sockets.put(listener, channel);
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        } catch (org.apache.kafka.common.KafkaException e) {
            // Kafka's factory wraps the BindException; callers want to tell "port busy" apart.
            if (e.getCause() instanceof BindException) {
                final BindException busy = new BindException("port " + port + " is already in use");
                busy.initCause(e);
                throw busy;
            }
            throw e;
        }
    }

    private static void shutdownQuietly(final BrokerServer broker, final ControllerServer controller,
                                        final Metrics metrics, final Map<String, ServerSocketChannel> sockets) {
        // Same order as KafkaRaftServer.shutdown(): the broker first, so it can shut down in a controlled way.
        if (broker != null) {
            try {
                broker.shutdown();
            } catch (RuntimeException e) {
                LOG.warn("Error stopping the broker", e);
            }
        }
        if (controller != null) {
            try {
                controller.shutdown();
            } catch (RuntimeException e) {
                LOG.warn("Error stopping the controller", e);
            }
        }
        if (metrics != null) {
            metrics.close();
        }
        // The socket server closes the sockets it took over; these close the ones it never used.
        for (final ServerSocketChannel channel : sockets.values()) {
            Utils.closeQuietly(channel, "prebound socket");
        }
    }

    private static void deleteQuietly(final Path dir) {
        try {
            Utils.delete(dir.toFile());
        } catch (IOException e) {
            LOG.warn("Cannot delete temporary broker directory {}: {}", dir, e.getMessage());
        }
    }

    /** Hands the sockets bound in {@link #bind} to Kafka's socket servers; binds anew after a restart. */
    private static final class PreboundSocketFactory implements ServerSocketFactory {
        private final Map<String, ServerSocketChannel> sockets;

        PreboundSocketFactory(final Map<String, ServerSocketChannel> sockets) {
            this.sockets = Objects.requireNonNull(sockets);
        }

        @Override
        public ServerSocketChannel openServerSocket(final String listenerName, final InetSocketAddress address,
                                                    final int backlog, final int recvBufferSize) throws IOException {
            synchronized (sockets) {
                final ServerSocketChannel channel = sockets.get(listenerName);
                if (channel != null && channel.isOpen()) {
                    return channel;
                }
            }
            return ServerSocketFactory.INSTANCE.openServerSocket(listenerName, address, backlog, recvBufferSize);
        }
    }

    /**
     * Logs faults. Kafka's standard factory halts the JVM on a fatal one, which is right for a
     * dedicated broker process but not for a broker embedded in the demo or a test run.
     */
    private static final class LoggingFaultHandlerFactory implements FaultHandlerFactory {
        @Override
        public org.apache.kafka.server.fault.FaultHandler build(final String name, final boolean fatal,
                                                               final Runnable action) {
            return new LoggingFaultHandler(name, action);
        }
    }
}
