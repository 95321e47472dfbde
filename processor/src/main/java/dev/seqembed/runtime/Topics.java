package dev.seqembed.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.config.SeqembedConfig;

/** Creates seqembed's topics when they are missing (never alters existing ones). */
public final class Topics {

    private static final Logger LOG = LoggerFactory.getLogger(Topics.class);

    private Topics() {
    }

    /** The topic names of a configuration. */
    public static List<String> names(final SeqembedConfig config) {
        return List.of(config.topicTokens(), config.topicDlq(), config.topicWindows(),
                config.topicEmbeddingsDense(), config.topicEmbeddingsAttention(), config.topicAttentionChunks());
    }

    /** Creates the missing topics with the configured partitions and replication. */
    public static void ensure(final SeqembedConfig config) throws InterruptedException, ExecutionException,
            java.util.concurrent.TimeoutException {
        final Properties adminProps = config.streamsProperties();
        try (Admin admin = Admin.create(adminProps)) {
            final Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            final List<NewTopic> missing = new ArrayList<>();
            for (final String name : names(config)) {
                if (!existing.contains(name)) {
                    missing.add(new NewTopic(name, config.topicPartitions(), config.topicReplication())
                            .configs(Map.of()));
                }
            }
            if (missing.isEmpty()) {
                return;
            }
            try {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
            } catch (final ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
            LOG.info("created topics {}", missing.stream().map(NewTopic::name).toList());
        }
    }
}
