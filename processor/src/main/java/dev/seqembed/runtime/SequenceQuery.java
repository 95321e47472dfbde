package dev.seqembed.runtime;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import dev.seqembed.config.AttentionMode;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.processor.AttentionCausal;
import dev.seqembed.processor.AttentionEncoder;
import dev.seqembed.processor.ChunkValidator;
import dev.seqembed.state.KvCacheStore;
import dev.seqembed.state.SequenceProgress;
import dev.seqembed.topology.SeqembedTopology;

/**
 * {@code /sequences/{id}} (SPEC §9, §10.4) on any instance, for both paths: each part (ingest progress, attention
 * state) comes from this instance's store when it holds the key, else from the instance that does, over HTTP
 * ({@code /sequences/{id}?part=ingest|attention}). The owner is known from the local client's Kafka Streams metadata;
 * an instance that does not run the client at all (by its role) asks a member of that client's group
 * ({@link PeerDirectory}), which answers or asks the owner in turn. A hop count bounds the forwarding.
 */
final class SequenceQuery implements AutoCloseable {

    /** Header counting how often a part request was forwarded. */
    static final String HOPS_HEADER = "X-Seqembed-Hops";
    private static final int MAX_HOPS = 2;

    /** The two halves of the answer, one per Kafka Streams client, and the body of each. */
    enum Part {
        INGEST(SequenceJson.IngestPart.class), ATTENTION(SequenceJson.AttentionPart.class);

        final Class<? extends Record> body;

        Part(final Class<? extends Record> body) {
            this.body = body;
        }

        static Part parse(final String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }

        String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Status and JSON body of an answer. */
    record Answer(int status, String body) {
    }

    /** A part no instance could answer right now (not running, rebalancing, owner unreachable). */
    static final class Unavailable extends Exception {
        Unavailable(final String message) {
            super(message, null, false, false);
        }
    }

    private final SeqembedConfig config;
    private final KafkaStreams ingest;
    private final KafkaStreams attention;
    private final String self;
    private final PeerDirectory peers;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * @param ingest    the ingest client, or null when this instance's role does not run it
     * @param attention the attention client, or null likewise
     * @param self      this instance's endpoint (host:port), to tell its keys from others'
     */
    SequenceQuery(final SeqembedConfig config, final KafkaStreams ingest, final KafkaStreams attention,
                  final String self) {
        this.config = config;
        this.ingest = ingest;
        this.attention = attention;
        this.self = self;
        this.peers = new PeerDirectory(config.streamsProperties());
    }

    /** The whole answer: 200 with both parts, 404 for a sequence never seen, 503 when the ingest part is out of reach. */
    Answer sequence(final String id) {
        final SequenceJson.IngestPart progress;
        try {
            progress = part(Part.INGEST, SequenceJson.IngestPart.class, id, 0);
        } catch (final Unavailable e) {
            return new Answer(503, "not available: " + e.getMessage());
        }
        if (!progress.known()) {
            return new Answer(404, SequenceJson.write(new SequenceJson.UnknownSequence(id)));
        }
        Long attentionBytes = null;
        String unavailable = null;
        try {
            attentionBytes = part(Part.ATTENTION, SequenceJson.AttentionPart.class, id, 0).attentionStateBytes();
        } catch (final Unavailable e) {
            // The ingest half is still worth answering; say why the other is missing.
            unavailable = e.getMessage();
        }
        return new Answer(200, SequenceJson.write(new SequenceJson.SequenceStatus(id, progress.tokensSeen(),
                attentionBytes, unavailable, progress.nextChunkIndex(), progress.closed(), progress.rejectedReason(),
                config.attentionMode().cliName())));
    }

    /** One part, as asked by another instance. */
    Answer partRequest(final String part, final String id, final int hops) {
        final Part p;
        try {
            p = Part.parse(part);
        } catch (final IllegalArgumentException e) {
            return new Answer(400, "part must be ingest or attention");
        }
        try {
            return new Answer(200, SequenceJson.write(part(p, p.body, id, hops)));
        } catch (final Unavailable e) {
            return new Answer(503, "not available: " + e.getMessage());
        }
    }

    /** One part, from this instance's store when it holds the key, else from the instance that does. */
    private <T extends Record> T part(final Part part, final Class<T> body, final String id, final int hops)
            throws Unavailable {
        final KafkaStreams client = part == Part.INGEST ? ingest : attention;
        if (client == null) {
            return fromPeers(part, body, id, hops);
        }
        final String store = store(part);
        final KeyQueryMetadata meta;
        try {
            meta = client.queryMetadataForKey(store, id, Serdes.String().serializer());
        } catch (final IllegalStateException e) {
            throw new Unavailable(part.cliName() + " client " + client.state());
        }
        if (meta == null || meta.equals(KeyQueryMetadata.NOT_AVAILABLE) || meta.activeHost().port() < 0) {
            throw new Unavailable(part.cliName() + " client " + client.state() + ": owner of the key not known yet");
        }
        final String owner = meta.activeHost().host() + ":" + meta.activeHost().port();
        if (meta.activeHost().port() > 0 && !owner.equals(self)) {
            return fetch(owner, part, body, id, hops);
        }
        try {
            return body.cast(part == Part.INGEST ? localProgress(id) : localAttention(id));
        } catch (final InvalidStateStoreException e) {
            throw new Unavailable(part.cliName() + " store not queryable now (" + client.state() + ")");
        }
    }

    private <T extends Record> T fromPeers(final Part part, final Class<T> body, final String id, final int hops)
            throws Unavailable {
        final String group = part == Part.INGEST ? config.applicationId()
                : config.applicationId() + SeqembedTopology.ATTENTION_APP_SUFFIX;
        final List<String> endpoints;
        try {
            endpoints = peers.endpoints(group);
        } catch (final Exception e) {
            throw new Unavailable("members of group " + group + " not known: " + e.getMessage());
        }
        Unavailable last = new Unavailable("no instance runs the " + part.cliName() + " client (group " + group + ")");
        for (final String endpoint : endpoints) {
            if (endpoint.equals(self)) {
                continue;
            }
            try {
                return fetch(endpoint, part, body, id, hops);
            } catch (final Unavailable e) {
                last = e;
            }
        }
        throw last;
    }

    private <T extends Record> T fetch(final String endpoint, final Part part, final Class<T> body, final String id,
                                       final int hops) throws Unavailable {
        if (hops >= MAX_HOPS) {
            throw new Unavailable("forwarded " + hops + " times without reaching the owner");
        }
        final URI uri = URI.create("http://" + endpoint + "/sequences/" + URLEncoder.encode(id, StandardCharsets.UTF_8)
                .replace("+", "%20") + "?part=" + part.cliName());
        try {
            final HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5))
                    .header(HOPS_HEADER, String.valueOf(hops + 1)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new Unavailable(endpoint + " answered " + r.statusCode() + ": " + r.body());
            }
            return SequenceJson.read(r.body(), body);
        } catch (final IOException e) {
            throw new Unavailable(endpoint + " unreachable: " + e);
        } catch (final InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted");
        }
    }

    private SequenceJson.IngestPart localProgress(final String id) {
        final ReadOnlyKeyValueStore<String, SequenceProgress> store = ingest.store(
                StoreQueryParameters.fromNameAndType(ChunkValidator.STORE, QueryableStoreTypes.keyValueStore()));
        return SequenceJson.IngestPart.of(store.get(id));
    }

    /** Bytes the attention path holds for the sequence: its token buffer (encoder) or KV cache (causal). */
    private SequenceJson.AttentionPart localAttention(final String id) {
        final long bytes;
        if (config.attentionMode() == AttentionMode.CAUSAL) {
            final ReadOnlyKeyValueStore<String, byte[]> kv = attention.store(StoreQueryParameters.fromNameAndType(
                    AttentionCausal.STORE, QueryableStoreTypes.keyValueStore()));
            bytes = KvCacheStore.storedBytes(kv, id);
        } else {
            // The store holds each buffer's bytes (StateEntries): their length is the state size.
            final ReadOnlyKeyValueStore<String, byte[]> buffers = attention.store(
                    StoreQueryParameters.fromNameAndType(AttentionEncoder.STORE, QueryableStoreTypes.keyValueStore()));
            final byte[] b = buffers.get(id);
            bytes = b == null ? 0L : b.length;
        }
        return new SequenceJson.AttentionPart(bytes);
    }

    private String store(final Part part) {
        if (part == Part.INGEST) {
            return ChunkValidator.STORE;
        }
        return config.attentionMode() == AttentionMode.CAUSAL ? AttentionCausal.STORE : AttentionEncoder.STORE;
    }

    @Override
    public void close() {
        peers.close();
    }
}
