package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.runtime.SeqembedApp;
import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.broker.EmbeddedKafkaBroker;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.ItSettings;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;

/**
 * Issue 10.3: the broker (the in-JVM one the {@code broker} command runs, with a data dir it keeps) stops in the
 * middle of sequences and comes back on the same port and data: the processor rides through by itself, and
 * read_committed consumers see every embedding exactly once, equal to offline {@code embed} (causal mode: KV caches
 * in flight across the outage).
 */
class BrokerRestartIT {

    private static final int CHUNK = 5;

    @TempDir
    Path dir;

    @Test
    void processorRidesThroughABrokerRestart() throws Exception {
        final Path data = dir.resolve("broker-data");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(0, data);
        final int port = broker.port();
        try {
            final Models models = TestModels.write(dir.resolve("models"));
            final List<SequenceInput> sequences = SyntheticWorkload.generate(30, 12, 40,
                    TestModels.DENSE.vocabSize(), 17, "b-");
            final Path input = OfflineEmbed.writeJsonl(dir.resolve("in.jsonl"), sequences);
            final List<List<TokenChunk>> chunks = new ArrayList<>();
            for (final SequenceInput s : sequences) {
                chunks.add(s.toChunks(CHUNK));
            }
            final Map<String, String> m = ItSettings.causal(broker.bootstrapServers(), "broker-restart",
                    dir.resolve("state"));
            m.put(SeqembedConfig.ATTENTION_KV_BLOCK_BYTES, "2048");
            final SeqembedConfig config = SeqembedConfig.from(m);
            final List<Embedding> wantAttention = OfflineEmbed.run(input, dir, "--path", "attention", "--mode",
                    "causal", "--chunk", String.valueOf(CHUNK), "--model", dir.resolve("models/attention").toString());
            final List<Embedding> wantDense = OfflineEmbed.run(input, dir, "--path", "dense", "--model",
                    dir.resolve("models/dense").toString());

            try (SeqembedApp app = SeqembedApp.start(config, models)) {
                assertThat(app.awaitRunning(Duration.ofSeconds(90))).as(app.state()).isTrue();
                send(broker.bootstrapServers(), chunks, 0, 2);
                // Mid-stream: the first chunks' causal embeddings are out, the rest of each sequence is to come.
                EmbeddingReader.read(broker.bootstrapServers(), config.topicEmbeddingsAttention(), sequences.size(),
                        Duration.ofSeconds(60));
                send(broker.bootstrapServers(), chunks, 2, 3);
                broker.close();
                Thread.sleep(5_000);
                broker = EmbeddedKafkaBroker.start(port, data);
                send(broker.bootstrapServers(), chunks, 3, Integer.MAX_VALUE);
                final List<Embedding> gotAttention = EmbeddingReader.embeddings(broker.bootstrapServers(),
                        config.topicEmbeddingsAttention(), wantAttention.size(), Duration.ofSeconds(120));
                final List<Embedding> gotDense = EmbeddingReader.embeddings(broker.bootstrapServers(),
                        config.topicEmbeddingsDense(), wantDense.size(), Duration.ofSeconds(60));
                StreamingEqualsOfflineIT.assertSameVectors(gotAttention, wantAttention, 0f);
                StreamingEqualsOfflineIT.assertSameVectors(gotDense, wantDense, 1e-6f);
                assertThat(app.failed()).as(app.state()).isFalse();
                System.out.printf("BrokerRestartIT: broker down 5 s mid-stream; %d attention + %d dense embeddings "
                        + "exactly once; processor %s%n", gotAttention.size(), gotDense.size(), app.state());
            }
        } finally {
            broker.close();
        }
    }

    private static void send(final String bootstrap, final List<List<TokenChunk>> chunks, final int from,
                             final int to) {
        final java.util.Properties p = new java.util.Properties();
        p.put("bootstrap.servers", bootstrap);
        try (TokenProducer producer = new TokenProducer(p, "tokens")) {
            for (final List<TokenChunk> cs : chunks) {
                for (int i = from; i < Math.min(to, cs.size()); i++) {
                    producer.sendRaw(cs.get(i).getSequenceId(), RecordSerdes.tokenChunk().encode(cs.get(i)));
                }
            }
            producer.flush();
        }
    }
}
