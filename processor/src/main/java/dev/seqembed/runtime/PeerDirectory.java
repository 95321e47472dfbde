package dev.seqembed.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;

/**
 * The HTTP endpoints of the instances in a Kafka Streams application's consumer group, read from the group's member
 * list (each member's client id carries its endpoint, see {@link InstanceIdentity}). An instance that does not run a
 * client (an ingest-only one, asked about attention) has no Kafka Streams metadata for that client's group; any
 * member of it can answer or knows the owner.
 */
final class PeerDirectory implements AutoCloseable {

    private static final long TTL_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final Properties adminProps;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private Admin admin;

    private record Cached(List<String> endpoints, long at) {
    }

    PeerDirectory(final Properties adminProps) {
        this.adminProps = adminProps;
    }

    /** Endpoints of the group's members, those with partitions first (a dead member keeps none for long). */
    List<String> endpoints(final String groupId) throws Exception {
        final Cached c = cache.get(groupId);
        if (c != null && System.nanoTime() - c.at() < TTL_NANOS) {
            return c.endpoints();
        }
        final ConsumerGroupDescription group = admin().describeConsumerGroups(List.of(groupId)).all()
                .get(5, TimeUnit.SECONDS).get(groupId);
        final List<MemberDescription> members = new ArrayList<>(group.members());
        members.sort(Comparator.comparing(m -> m.assignment().topicPartitions().isEmpty()));
        final List<String> out = new ArrayList<>();
        for (final MemberDescription m : members) {
            final String endpoint = InstanceIdentity.endpointOfClientId(m.clientId());
            if (endpoint != null && !out.contains(endpoint)) {
                out.add(endpoint);
            }
        }
        cache.put(groupId, new Cached(List.copyOf(out), System.nanoTime()));
        return out;
    }

    private synchronized Admin admin() {
        if (admin == null) {
            admin = Admin.create(adminProps);
        }
        return admin;
    }

    @Override
    public synchronized void close() {
        if (admin != null) {
            admin.close();
        }
    }
}
