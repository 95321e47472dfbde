package dev.seqembed.runtime;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;

import org.apache.kafka.streams.KafkaStreams;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.seqembed.config.SeqembedConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The operations port (SPEC §9): {@code /metrics}, {@code /health/live}, {@code /health/ready} and
 * {@code /sequences/{id}} (interactive query of a sequence's progress on both paths, see {@link SequenceQuery}).
 */
final class HttpEndpoints implements AutoCloseable {

    private final HttpServer server;
    private final List<KafkaStreams> clients;
    private final String names;
    private final SequenceQuery query;

    /**
     * @param streams   the ingest client, or null when this instance's role does not run it
     * @param attention the attention client, or null likewise
     * @param self      this instance's {@code application.server} (host:port), to tell its keys from others'
     */
    HttpEndpoints(final int port, final PrometheusMeterRegistry registry, final KafkaStreams streams,
                  final KafkaStreams attention, final SeqembedConfig config, final String self) throws IOException {
        final List<KafkaStreams> present = new ArrayList<>();
        final List<String> presentNames = new ArrayList<>();
        if (streams != null) {
            present.add(streams);
            presentNames.add("ingest");
        }
        if (attention != null) {
            present.add(attention);
            presentNames.add("attention");
        }
        this.clients = List.copyOf(present);
        this.names = String.join(",", presentNames);
        this.query = new SequenceQuery(config, streams, attention, self);
        try {
            this.server = HttpServer.create(new InetSocketAddress(port), 0);
        } catch (final java.net.BindException e) {
            throw new java.net.BindException("HTTP port " + port + " is in use (choose another with --http-port)");
        }
        // Four threads: a query may wait on another instance, which may be asking this one about the other part.
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            final Thread t = new Thread(r, "seqembed-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4", registry.scrape()));
        // Health covers only the clients this instance's role runs.
        server.createContext("/health/live", ex -> {
            final boolean alive = clients.stream().noneMatch(c -> c.state() == KafkaStreams.State.ERROR);
            send(ex, alive ? 200 : 503, "text/plain", states());
        });
        server.createContext("/health/ready", ex -> {
            final boolean ready = clients.stream().allMatch(c -> c.state() == KafkaStreams.State.RUNNING);
            send(ex, ready ? 200 : 503, "text/plain", states());
        });
        server.createContext("/sequences/", this::sequence);
        server.start();
    }

    private String states() {
        final String[] n = names.split(",");
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < clients.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(n[i]).append(' ').append(clients.get(i).state());
        }
        return sb.toString();
    }

    private void sequence(final HttpExchange ex) throws IOException {
        final String id = java.net.URLDecoder.decode(ex.getRequestURI().getRawPath().substring("/sequences/".length()),
                StandardCharsets.UTF_8);
        final String q = ex.getRequestURI().getQuery();
        final SequenceQuery.Answer answer;
        if (q != null && q.startsWith("part=")) {
            final String hops = ex.getRequestHeaders().getFirst(SequenceQuery.HOPS_HEADER);
            answer = query.partRequest(q.substring("part=".length()), id, hops == null ? 0 : Integer.parseInt(hops));
        } else {
            answer = query.sequence(id);
        }
        send(ex, answer.status(), answer.status() == 503 || answer.status() == 400 ? "text/plain"
                : "application/json", answer.body());
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
        query.close();
    }
}
