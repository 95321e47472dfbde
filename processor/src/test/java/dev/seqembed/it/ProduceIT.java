package dev.seqembed.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.seqembed.testing.Cli;

/**
 * {@code produce} never reports a send that did not happen (issue 10 item 7): started before the topic exists it
 * waits for it and then delivers every chunk; a topic that never appears is named in one line, exit 2.
 */
class ProduceIT {

    @RegisterExtension
    static final KafkaBrokerSupport KAFKA = new KafkaBrokerSupport();

    @Test
    void aTopicCreatedWhileProduceWaitsGetsEveryChunk() throws Exception {
        final CompletableFuture<Cli.Result> result = CompletableFuture.supplyAsync(() -> Cli.run("produce",
                "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic", "late", "--synthetic", "40", "--min-len",
                "5", "--max-len", "60", "--chunk", "8"));
        Thread.sleep(3_000);
        assertThat(result).as("still waiting for the topic").isNotDone();
        KAFKA.createTopics("late");
        final Cli.Result r = result.get(60, TimeUnit.SECONDS);
        assertThat(r.exit()).as(r.err()).isZero();
        final String line = r.err().lines().filter(l -> l.startsWith("produced ")).findFirst().orElseThrow();
        final long chunks = Long.parseLong(line.replaceAll(".* in (\\d+) chunks", "$1"));
        assertThat(line).startsWith("produced 40 sequences in ");
        // Every reported chunk is in the topic.
        assertThat(EmbeddingReader.read(KAFKA.bootstrapServers(), "late", (int) chunks, Duration.ofSeconds(30)))
                .hasSize((int) chunks);
    }

    @Test
    void aTopicThatNeverAppearsIsNamed() {
        final Cli.Result r = Cli.run("produce", "--bootstrap-servers", KAFKA.bootstrapServers(), "--topic",
                "nowhere", "--synthetic", "2", "--topic-wait-ms", "1000");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().contains("topic 'nowhere' does not exist at " + KAFKA.bootstrapServers());
    }
}
