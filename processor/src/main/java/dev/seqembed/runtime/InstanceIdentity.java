package dev.seqembed.runtime;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;

import dev.seqembed.config.SeqembedConfig;

/**
 * Who this instance is to the consumer groups and to its peers:
 * <ul>
 *   <li>{@code application.server}: the HTTP endpoint that other instances fetch interactive queries from;</li>
 *   <li>{@code client.id} {@code <application.id>@<endpoint>}: the same endpoint, readable from the group's member
 *       list by an instance that does not run that client (an ingest-only instance answering for attention), see
 *       {@link PeerDirectory};</li>
 *   <li>{@code group.instance.id} (static membership): stable across restarts, so a restarted instance takes its
 *       partitions back at once instead of waiting out its dead predecessor's session.</li>
 * </ul>
 * Values the user set explicitly are left alone.
 */
final class InstanceIdentity {

    /** Separates the application id from the endpoint in {@code client.id}. */
    static final String ENDPOINT_MARK = "@";

    private InstanceIdentity() {
    }

    /** This instance's HTTP endpoint {@code host:port}, or null when the HTTP port is off. */
    static String endpoint(final SeqembedConfig config) {
        final String set = config.get(StreamsConfig.APPLICATION_SERVER_CONFIG);
        if (set != null && !set.isBlank()) {
            return set.trim();
        }
        return config.httpPort() > 0 ? advertisedHost() + ":" + config.httpPort() : null;
    }

    /**
     * Adds the identity settings to one client's properties.
     *
     * @param applicationId that client's application.id
     */
    static void apply(final Properties props, final SeqembedConfig config, final String applicationId) {
        final String endpoint = endpoint(config);
        if (endpoint != null) {
            props.putIfAbsent(StreamsConfig.APPLICATION_SERVER_CONFIG, endpoint);
            props.putIfAbsent(StreamsConfig.CLIENT_ID_CONFIG, applicationId + ENDPOINT_MARK + endpoint);
        }
        if (config.staticMembership()) {
            // Kafka Streams appends "-<thread index>" per stream thread.
            props.putIfAbsent(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instanceName(config));
        }
    }

    /** The configured {@code instance.name}, else host name plus a hash of the absolute state directory. */
    static String instanceName(final SeqembedConfig config) {
        final String named = config.get(SeqembedConfig.INSTANCE_NAME);
        if (named != null && !named.isBlank()) {
            return sanitize(named.trim());
        }
        final String stateDir = config.get(StreamsConfig.STATE_DIR_CONFIG);
        final String where = stateDir == null ? "default" : Path.of(stateDir).toAbsolutePath().normalize().toString();
        return sanitize(advertisedHost()) + "-" + shortHash(where);
    }

    /** The host name other instances reach this one by: $HOSTNAME (containers), else the local host name. */
    static String advertisedHost() {
        final String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (final UnknownHostException e) {
            return "localhost";
        }
    }

    /** The endpoint encoded in a Streams consumer's client id ({@code <app>@host:port-StreamThread-1-consumer}). */
    static String endpointOfClientId(final String clientId) {
        final int at = clientId == null ? -1 : clientId.lastIndexOf(ENDPOINT_MARK);
        if (at < 0) {
            return null;
        }
        final String rest = clientId.substring(at + 1);
        final int thread = rest.indexOf("-StreamThread-");
        final String endpoint = thread < 0 ? rest : rest.substring(0, thread);
        return endpoint.matches(".+:\\d+") ? endpoint : null;
    }

    // group.instance.id allows the characters of topic names only.
    private static String sanitize(final String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "_");
    }

    private static String shortHash(final String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 10);
        } catch (final NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
