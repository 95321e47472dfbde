package dev.seqembed.cli;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import dev.seqembed.config.UserException;

/**
 * Up-front checks of the Kafka cluster a command talks to, so that an unreachable address, wrong credentials or a
 * missing topic end the command with one line (exit 2) instead of a client retrying for minutes with a warning a
 * second (SPEC §10.6, issue 10).
 */
public final class ClusterCheck {

    /** How long a broker has to answer the first request: room for a loaded machine, yet exit within 30 s. */
    public static final Duration PROBE_TIMEOUT = Duration.ofSeconds(20);

    private static final String CLIENT_LOGGERS = "org.apache.kafka.clients";

    private ClusterCheck() {
    }

    /**
     * Asks the cluster for its id within {@link #PROBE_TIMEOUT}.
     *
     * @throws UserException naming the address when no broker answers, or the authentication failure
     */
    public static void requireReachable(final Properties clientProps) {
        final String bootstrap = clientProps.getProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
        try (Quiet quiet = new Quiet(); Admin admin = admin(clientProps)) {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) PROBE_TIMEOUT.toMillis()))
                    .clusterId().get(PROBE_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
        } catch (final ExecutionException e) {
            throw failure(bootstrap, e.getCause());
        } catch (final TimeoutException e) {
            throw unreachable(bootstrap);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException("interrupted while connecting to " + bootstrap);
        } catch (final KafkaException e) {
            // Admin.create: e.g. no resolvable bootstrap address, or a security setting it cannot use.
            throw new UserException("cannot connect to " + bootstrap + ": " + rootMessage(e));
        }
    }

    /**
     * Checks that the cluster answers ({@link #requireReachable}), then waits up to {@code timeout} for a topic to
     * exist (e.g. while a starting {@code run} creates it).
     *
     * @param hint appended to the message when the topic still does not exist ("" for none)
     * @throws UserException naming the topic, the address and the wait when it does not exist by then
     */
    public static void requireTopic(final Properties clientProps, final String topic, final Duration timeout,
                                    final String hint) throws InterruptedException {
        requireReachable(clientProps);
        final String bootstrap = clientProps.getProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
        final long deadline = System.nanoTime() + timeout.toNanos();
        try (Quiet quiet = new Quiet(); Admin admin = admin(clientProps)) {
            while (true) {
                try {
                    if (admin.listTopics().names().get(PROBE_TIMEOUT.toSeconds(), TimeUnit.SECONDS).contains(topic)) {
                        return;
                    }
                } catch (final ExecutionException e) {
                    throw failure(bootstrap, e.getCause());
                } catch (final TimeoutException e) {
                    throw unreachable(bootstrap);
                }
                if (System.nanoTime() > deadline) {
                    throw new UserException("topic '" + topic + "' does not exist at " + bootstrap + " (waited "
                            + timeout.toMillis() + " ms)" + hint);
                }
                Thread.sleep(250);
            }
        }
    }

    private static Admin admin(final Properties clientProps) {
        final Properties p = new Properties();
        p.putAll(clientProps);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) PROBE_TIMEOUT.toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) PROBE_TIMEOUT.toMillis());
        return Admin.create(p);
    }

    private static UserException failure(final String bootstrap, final Throwable cause) {
        if (cause instanceof AuthenticationException) {
            return new UserException("authentication failed at " + bootstrap + ": " + cause.getMessage());
        }
        if (cause instanceof AuthorizationException) {
            return new UserException("not authorized at " + bootstrap + ": " + cause.getMessage());
        }
        if (cause instanceof org.apache.kafka.common.errors.TimeoutException) {
            return unreachable(bootstrap);
        }
        return new UserException("cannot use the Kafka cluster at " + bootstrap + ": " + rootMessage(cause));
    }

    private static UserException unreachable(final String bootstrap) {
        return new UserException("no Kafka broker answers at " + bootstrap + " (waited "
                + PROBE_TIMEOUT.toSeconds() + " s)");
    }

    private static String rootMessage(final Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage();
    }

    /**
     * Keeps the Kafka clients' connection warnings (one a second while nothing answers) off the console during a
     * check: its outcome is reported as one line instead.
     */
    private static final class Quiet implements AutoCloseable {
        private final Logger logger;
        private final Level before;

        Quiet() {
            final org.slf4j.Logger l = LoggerFactory.getLogger(CLIENT_LOGGERS);
            logger = l instanceof Logger ? (Logger) l : null;
            before = logger == null ? null : logger.getLevel();
            if (logger != null) {
                logger.setLevel(Level.OFF);
            }
        }

        @Override
        public void close() {
            if (logger != null) {
                logger.setLevel(before);
            }
        }
    }
}
