package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.serde.RecordSerdes;
import dev.seqembed.testing.TestModels;

/**
 * SPEC §8: the packaged processor ({@code java -jar seqembed.jar run}) killed with SIGKILL in the middle of
 * sequences and started again loses no embedding and duplicates none for read_committed consumers, and the
 * restored KV caches give the same vectors as an uninterrupted (offline) run.
 */
class KillNineIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    private static final int CHUNK = 5;

    @TempDir
    Path dir;

    @Test
    void killedMidSequenceAndRestartedChangesNothing() throws Exception {
        final Path jar = Path.of("target", "seqembed.jar").toAbsolutePath();
        assertThat(jar).as("the shaded jar is built before the integration tests").exists();
        TestModels.write(dir.resolve("models"));
        final String id = UUID.randomUUID().toString().substring(0, 8);
        final List<SequenceInput> sequences = SyntheticWorkload.generate(16, 12, 40, TestModels.DENSE.vocabSize(), 3,
                "k-");
        final List<List<TokenChunk>> chunks = new ArrayList<>();
        for (final SequenceInput s : sequences) {
            chunks.add(s.toChunks(CHUNK));
        }
        final Path input = OfflineEmbed.writeJsonl(dir.resolve("in.jsonl"), sequences);
        final List<Embedding> want = offline(input, "--path", "attention", "--model",
                dir.resolve("models/attention").toString(), "--mode", "causal", "--chunk", String.valueOf(CHUNK));
        final List<Embedding> wantDense = offline(input, "--path", "dense", "--model",
                dir.resolve("models/dense").toString());

        final List<String> command = List.of(javaExecutable(), "-Xmx1g", "-jar", jar.toString(), "run",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--application-id", "kill-" + id,
                "--state-dir", dir.resolve("state").toString(), "--http-port", "0", "--attention-mode", "causal",
                "--dense-model", dir.resolve("models/dense").toString(),
                "--attention-model", dir.resolve("models/attention").toString(),
                "-D", "topic.tokens=tokens-" + id, "-D", "topic.dlq=dlq-" + id, "-D", "topic.windows=windows-" + id,
                "-D", "topic.embeddings.dense=dense-" + id, "-D", "topic.embeddings.attention=attention-" + id,
                "-D", "topic.partitions=2", "-D", "attention.kv-block-bytes=2048",
                "-D", "session.timeout.ms=6000", "-D", "heartbeat.interval.ms=1000");
        final String attentionTopic = "attention-" + id;
        final java.util.Properties client = new java.util.Properties();
        client.put("bootstrap.servers", KAFKA.bootstrapServers());
        try (TokenProducer producer = new TokenProducer(client, "tokens-" + id)) {
            final Process first = start(command, "first");
            // The first three chunks of every sequence, then SIGKILL once some of them came out.
            send(producer, chunks, 0, 3);
            EmbeddingReader.embeddings(KAFKA.bootstrapServers(), attentionTopic, 16, Duration.ofSeconds(90));
            first.destroyForcibly().waitFor();
            send(producer, chunks, 3, Integer.MAX_VALUE);
            final Process second = start(command, "second");
            try {
                final List<Embedding> got = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), attentionTopic,
                        want.size(), Duration.ofSeconds(120));
                StreamingEqualsOfflineIT.assertSameVectors(got, want, 0f);
                final List<Embedding> gotDense = EmbeddingReader.embeddings(KAFKA.bootstrapServers(), "dense-" + id,
                        wantDense.size(), Duration.ofSeconds(60));
                StreamingEqualsOfflineIT.assertSameVectors(gotDense, wantDense, 1e-6f);
            } finally {
                second.destroy();
                second.waitFor();
            }
        }
    }

    private Process start(final List<String> command, final String name) throws Exception {
        final ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        // The test's own OPENBLAS_* / OMP_* environment (if any) is inherited, never changed.
        final Process p = pb.start();
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        return p;
    }

    private static void send(final TokenProducer producer, final List<List<TokenChunk>> chunks, final int from,
                             final int to) {
        for (final List<TokenChunk> cs : chunks) {
            for (int i = from; i < Math.min(to, cs.size()); i++) {
                producer.sendRaw(cs.get(i).getSequenceId(), RecordSerdes.tokenChunk().encode(cs.get(i)));
            }
        }
        producer.flush();
    }

    private List<Embedding> offline(final Path input, final String... args) throws Exception {
        return OfflineEmbed.run(input, dir, args);
    }

    private static String javaExecutable() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
