package dev.seqembed.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.utils.Utils;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.config.UserException;
import dev.seqembed.topology.SeqembedTopology;

/**
 * What {@code reset} removes for one application id (SPEC §10.6), found and removed through Kafka's Admin API: the
 * internal topics of both Kafka Streams clients ({@code <id>} and {@code <id>-attention}: the changelogs of the
 * stores their topologies declare, by exact name, so another application whose id merely starts with
 * {@code <id>-} keeps its topics; Kafka's own {@code kafka-streams-application-reset} matches by prefix), the attention
 * chunks topic (written and read only by the application), the committed offsets of both consumer groups, and
 * both clients' local state under the state directory. The input and output topics stay ({@code windows} too: it is
 * written for whoever reads it, the dense path no longer reads it back); after a reset the application reads its
 * input from the beginning again.
 *
 * @param groups consumer groups (= application ids) whose offsets go
 * @param topics existing topics that go
 * @param stateDirs existing local state directories that go
 */
public record ApplicationReset(List<String> groups, List<String> topics, List<Path> stateDirs) {

    private static final long TIMEOUT_S = 30;

    /**
     * Finds what a reset of {@code config}'s application would remove.
     *
     * @throws UserException when an instance of the application is running (a group has active members)
     */
    public static ApplicationReset plan(final Admin admin, final SeqembedConfig config, final Path stateDir)
            throws InterruptedException, ExecutionException, TimeoutException {
        final String id = config.applicationId();
        final List<String> groups = List.of(id, id + SeqembedTopology.ATTENTION_APP_SUFFIX);
        final Map<String, ConsumerGroupDescription> described = admin.describeConsumerGroups(groups).all()
                .get(TIMEOUT_S, TimeUnit.SECONDS);
        for (final ConsumerGroupDescription g : described.values()) {
            if (!g.members().isEmpty()) {
                throw new UserException("application '" + id + "' is running (consumer group " + g.groupId()
                        + " has " + g.members().size() + " active member(s)); stop every instance first");
            }
        }
        final Set<String> existing = admin.listTopics().names().get(TIMEOUT_S, TimeUnit.SECONDS);
        final Set<String> topics = new TreeSet<>(internalTopics(id));
        topics.retainAll(existing);
        if (existing.contains(config.topicAttentionChunks())) {
            topics.add(config.topicAttentionChunks());
        }
        final List<Path> dirs = new ArrayList<>();
        for (final String g : groups) {
            final Path d = stateDir.resolve(g);
            if (Files.isDirectory(d)) {
                dirs.add(d);
            }
        }
        return new ApplicationReset(groups, List.copyOf(topics), dirs);
    }

    /** The changelog topics of both clients' stores, as Kafka Streams names them. */
    static List<String> internalTopics(final String applicationId) {
        final List<String> out = new ArrayList<>();
        SeqembedTopology.INGEST_STORES.forEach(s -> out.add(applicationId + "-" + s + "-changelog"));
        SeqembedTopology.ATTENTION_STORES.forEach(s -> out.add(applicationId + SeqembedTopology.ATTENTION_APP_SUFFIX
                + "-" + s + "-changelog"));
        return out;
    }

    /** One line per thing removed, for the listing. */
    public List<String> describe() {
        final List<String> lines = new ArrayList<>();
        groups.forEach(g -> lines.add("committed offsets of consumer group " + g));
        topics.forEach(t -> lines.add("topic " + t));
        stateDirs.forEach(d -> lines.add("local state " + d));
        return lines;
    }

    /** Removes it all: the groups' offsets first (refused by the broker if a member joined meanwhile). */
    public void execute(final Admin admin) throws InterruptedException, ExecutionException, TimeoutException,
            IOException {
        for (final var entry : admin.deleteConsumerGroups(groups).deletedGroups().entrySet()) {
            try {
                entry.getValue().get(TIMEOUT_S, TimeUnit.SECONDS);
            } catch (final ExecutionException e) {
                if (e.getCause() instanceof GroupNotEmptyException) {
                    throw new UserException("consumer group " + entry.getKey() + " has active members again; stop "
                            + "every instance first");
                }
                if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                    throw e;
                }
            }
        }
        if (!topics.isEmpty()) {
            admin.deleteTopics(topics).all().get(TIMEOUT_S, TimeUnit.SECONDS);
        }
        for (final Path d : stateDirs) {
            Utils.delete(d.toFile());
        }
    }

    /** An Admin client for the application's cluster and security settings. */
    public static Admin admin(final SeqembedConfig config) {
        final Properties p = config.streamsProperties();
        return Admin.create(p);
    }
}
