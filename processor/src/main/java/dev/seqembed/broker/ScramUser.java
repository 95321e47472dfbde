package dev.seqembed.broker;

import java.util.Map;

/**
 * The one SASL/SCRAM-SHA-512 user of a secured in-JVM broker ({@code broker --sasl-scram USER:PASSWORD}).
 *
 * @param name user name
 * @param password the user's password
 */
public record ScramUser(String name, String password) {

    /** The SASL mechanism the broker enables and clients use. */
    public static final String MECHANISM = "SCRAM-SHA-512";

    public ScramUser {
        if (name == null || name.isEmpty() || password == null || password.isEmpty()) {
            throw new IllegalArgumentException("a SCRAM user needs a name and a password");
        }
    }

    /** Parses {@code USER:PASSWORD} (the password may contain ':'). */
    public static ScramUser parse(final String userColonPassword) {
        final int colon = userColonPassword.indexOf(':');
        if (colon <= 0 || colon == userColonPassword.length() - 1) {
            throw new IllegalArgumentException("expected USER:PASSWORD, got '" + userColonPassword.replaceAll(":.*", ":…")
                    + "'");
        }
        return new ScramUser(userColonPassword.substring(0, colon), userColonPassword.substring(colon + 1));
    }

    /** The standard Kafka client properties that authenticate as this user. */
    public Map<String, String> clientProperties() {
        return Map.of("security.protocol", "SASL_PLAINTEXT",
                "sasl.mechanism", MECHANISM,
                "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                        + quoted(name) + "\" password=\"" + quoted(password) + "\";");
    }

    @Override
    public String toString() {
        return "ScramUser[" + name + "]";
    }

    private static String quoted(final String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
