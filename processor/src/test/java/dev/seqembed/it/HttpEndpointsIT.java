package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.apache.kafka.streams.StreamsConfig;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;
import dev.seqembed.testing.OwnTopics;

/** The operations port on a running processor: health, Prometheus metrics, and the per-sequence query. */
class HttpEndpointsIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void healthMetricsAndSequenceQueryAnswer() throws Exception {
        final Models models = TestModels.write(dir.resolve("models"));
        final int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        final SeqembedConfig config = SeqembedConfig.from(Map.of(
                "bootstrap.servers", KAFKA.bootstrapServers(),
                StreamsConfig.APPLICATION_ID_CONFIG, "http-it",
                StreamsConfig.STATE_DIR_CONFIG, dir.resolve("state").toString(),
                SeqembedConfig.HTTP_PORT, String.valueOf(port)), OwnTopics.named("http"));
        try (SeqembedApp app = SeqembedApp.start(config, models)) {
            assertThat(get(port, "/health/live").statusCode()).isEqualTo(200);
            assertThat(app.awaitRunning(Duration.ofSeconds(60))).isTrue();
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> get(port, "/health/ready").statusCode() == 200);
            try (TokenProducer producer = new TokenProducer(config.streamsProperties(), config.topicTokens())) {
                producer.send(new SequenceInput("open-seq", new int[] {3, 4, 5, 6, 7}), 0);
                producer.sendRaw("open-2", dev.seqembed.serde.RecordSerdes.tokenChunk().encode(
                        dev.seqembed.testing.Chunks.chunk("open-2", 0, new int[] {1, 2, 3}, false)));
                producer.flush();
            }
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                final HttpResponse<String> r = get(port, "/sequences/open-2");
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).contains("\"tokens_seen\":3").contains("\"closed\":false")
                        .contains("\"attention_state_bytes\":" + dev.seqembed.state.TokenBuffer.sizeBytes(3));
            });
            assertThat(get(port, "/sequences/nobody").statusCode()).isEqualTo(404);
            Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                final String metrics = get(port, "/metrics").body();
                assertThat(metrics).contains("seqembed_embeddings_total{path=\"attention\"} 1.0")
                        .contains("seqembed_records_in_total 2.0")
                        .contains("seqembed_flops_total{length_bucket=\"le32\",path=\"dense\"}")
                        .contains("seqembed_consumer_lag_records{client=\"ingest\"} 0.0")
                        .contains("seqembed_consumer_lag_records{client=\"attention\"} 0.0");
            });
        }
    }

    private HttpResponse<String> get(final int port, final String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
