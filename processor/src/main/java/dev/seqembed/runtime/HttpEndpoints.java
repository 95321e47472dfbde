package dev.seqembed.runtime;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.processor.ChunkValidator;
import dev.seqembed.state.SequenceProgress;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The operations port (SPEC §9): {@code /metrics}, {@code /health/live}, {@code /health/ready} and
 * {@code /sequences/{id}} (interactive query of a sequence's progress; redirects to the instance holding it).
 */
final class HttpEndpoints implements AutoCloseable {

    private final HttpServer server;
    private final KafkaStreams streams;
    private final KafkaStreams attention;
    private final SeqembedConfig config;
    private final String self;

    /**
     * @param self this instance's {@code application.server} (host:port), to tell its keys from others'
     */
    HttpEndpoints(final int port, final PrometheusMeterRegistry registry, final KafkaStreams streams,
                  final KafkaStreams attention, final SeqembedConfig config, final String self) throws IOException {
        this.streams = streams;
        this.attention = attention;
        this.config = config;
        this.self = self;
        try {
            this.server = HttpServer.create(new InetSocketAddress(port), 0);
        } catch (final java.net.BindException e) {
            throw new java.net.BindException("HTTP port " + port + " is in use (choose another with --http-port)");
        }
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            final Thread t = new Thread(r, "seqembed-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4", registry.scrape()));
        server.createContext("/health/live", ex -> {
            final boolean alive = streams.state() != KafkaStreams.State.ERROR
                    && attention.state() != KafkaStreams.State.ERROR;
            send(ex, alive ? 200 : 503, "text/plain", states());
        });
        server.createContext("/health/ready", ex -> {
            final boolean ready = streams.state() == KafkaStreams.State.RUNNING
                    && attention.state() == KafkaStreams.State.RUNNING;
            send(ex, ready ? 200 : 503, "text/plain", states());
        });
        server.createContext("/sequences/", this::sequence);
        server.start();
    }

    /** Whether another instance (by its application.server) is active for the key. */
    private boolean heldElsewhere(final KeyQueryMetadata meta) {
        return meta != null && meta.activeHost() != null && meta.activeHost().port() > 0
                && !(meta.activeHost().host() + ":" + meta.activeHost().port()).equals(self);
    }

    private String states() {
        return "ingest " + streams.state() + ", attention " + attention.state();
    }

    private void sequence(final HttpExchange ex) throws IOException {
        final String id = java.net.URLDecoder.decode(ex.getRequestURI().getPath().substring("/sequences/".length()),
                StandardCharsets.UTF_8);
        if (streams.state() != KafkaStreams.State.RUNNING || attention.state() != KafkaStreams.State.RUNNING) {
            send(ex, 503, "text/plain", "not ready: " + states());
            return;
        }
        final KeyQueryMetadata meta = streams.queryMetadataForKey(ChunkValidator.STORE, id, Serdes.String().serializer());
        if (heldElsewhere(meta)) {
            ex.getResponseHeaders().add("Location", "http://" + meta.activeHost().host() + ":"
                    + meta.activeHost().port() + "/sequences/" + id);
            send(ex, 307, "text/plain", "held by " + meta.activeHost());
            return;
        }
        final ReadOnlyKeyValueStore<String, SequenceProgress> store = streams.store(
                StoreQueryParameters.fromNameAndType(ChunkValidator.STORE, QueryableStoreTypes.keyValueStore()));
        final SequenceProgress p = store.get(id);
        if (p == null) {
            send(ex, 404, "application/json", "{\"sequence_id\":" + quote(id) + ",\"known\":false}");
            return;
        }
        send(ex, 200, "application/json", "{\"sequence_id\":" + quote(id) + ",\"tokens_seen\":" + p.tokensSeen()
                + ",\"attention_state_bytes\":" + attentionStateBytes(id)
                + ",\"next_chunk_index\":" + p.nextChunkIndex() + ",\"closed\":" + p.closed()
                + ",\"rejected_reason\":" + quote(p.rejectedReason()) + ",\"mode\":"
                + quote(config.attentionMode().cliName()) + "}");
    }

    /**
     * Bytes the attention path holds for the sequence: its token buffer (encoder) or KV cache (causal); null when
     * the attention client of another instance holds it.
     */
    private Long attentionStateBytes(final String id) {
        final String store = config.attentionMode() == dev.seqembed.config.AttentionMode.CAUSAL
                ? dev.seqembed.processor.AttentionCausal.STORE : dev.seqembed.processor.AttentionEncoder.STORE;
        final KeyQueryMetadata meta = attention.queryMetadataForKey(store, id, Serdes.String().serializer());
        if (heldElsewhere(meta)) {
            return null;
        }
        if (config.attentionMode() == dev.seqembed.config.AttentionMode.CAUSAL) {
            final ReadOnlyKeyValueStore<String, byte[]> kv = attention.store(
                    StoreQueryParameters.fromNameAndType(dev.seqembed.processor.AttentionCausal.STORE,
                            QueryableStoreTypes.keyValueStore()));
            return dev.seqembed.processor.AttentionCausal.storedBytes(kv, id);
        }
        final ReadOnlyKeyValueStore<String, dev.seqembed.state.TokenBuffer> buffers = attention.store(
                StoreQueryParameters.fromNameAndType(dev.seqembed.processor.AttentionEncoder.STORE,
                        QueryableStoreTypes.keyValueStore()));
        final dev.seqembed.state.TokenBuffer b = buffers.get(id);
        return b == null ? 0L : dev.seqembed.state.TokenBuffer.sizeBytes(b.tokens().length);
    }

    private static String quote(final String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static void send(final HttpExchange ex, final int status, final String type, final String body)
            throws IOException {
        final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
