package dev.seqembed.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.metrics.ModelMetrics;
import dev.seqembed.model.Activation;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.DefaultModels;
import dev.seqembed.model.DenseWindowModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.testing.Chunks;
import dev.seqembed.testing.TestModels;
import dev.seqembed.topology.Models;
import dev.seqembed.engine.LiveModels;
import dev.seqembed.engine.ModelUsage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

class ModelWatcherTest {

    @TempDir
    Path root;

    private Path denseDir;
    private Path attentionDir;
    private LiveModels models;
    private SimpleMeterRegistry registry;
    private ModelWatcher watcher;
    private String firstSha;

    @BeforeEach
    void start() throws Exception {
        final Models loaded = TestModels.write(root);
        models = new LiveModels(loaded.dense(), loaded.attention());
        denseDir = root.resolve("dense");
        attentionDir = root.resolve("attention");
        firstSha = models.attention().sha256();
        registry = new SimpleMeterRegistry();
        watcher = new ModelWatcher(models, denseDir, attentionDir, new ModelMetrics(registry));
    }

    @AfterEach
    void stop() {
        watcher.close();
    }

    /** Two polls: the first sees the change, the second finds the files unchanged since and acts. */
    private void pollTwice() {
        watcher.poll();
        watcher.poll();
    }

    private double failures() {
        return registry.find("seqembed.model.load.failures").counters().stream().mapToDouble(Counter::count).sum();
    }

    private boolean inUse(final Path dir, final String sha) {
        return registry.find("seqembed.model.info").tag("path", dir.toAbsolutePath().normalize().toString())
                .tag("sha256", sha).gauge() != null;
    }

    private String writeBert(final long seed) throws Exception {
        DefaultModels.writeBert(attentionDir, TestModels.BERT, seed);
        return BertModel.load(attentionDir).sha256();
    }

    @Test
    void aChangedAttentionModelIsLoadedAndTakesOverAndTheOldOneIsRetiredWhenNoSequenceUsesIt() throws Exception {
        assertThat(inUse(attentionDir, firstSha)).isTrue();
        assertThat(inUse(denseDir, models.dense().sha256())).isTrue();
        final BertModel first = models.attention();
        final String second = writeBert(12);

        watcher.poll();
        assertThat(models.attention().sha256()).as("not before the files held still for a poll").isEqualTo(firstSha);
        watcher.poll();
        assertThat(models.attention().sha256()).isEqualTo(second);
        assertThat(models.attention(firstSha)).as("kept until the next poll").isSameAs(first);
        assertThat(inUse(attentionDir, second)).isTrue();
        assertThat(inUse(attentionDir, firstSha)).isTrue();

        watcher.poll();
        assertThat(models.attention(firstSha)).isNull();
        assertThat(models.attention(second)).isSameAs(models.attention());
        assertThat(inUse(attentionDir, firstSha)).isFalse();
        assertThat(failures()).isZero();

        // The new model computes: same vector as loading it directly.
        final int[] tokens = Chunks.tokens(9, 1);
        assertThat(models.attention().encode(tokens, Pooling.MEAN, true))
                .containsExactly(BertModel.load(attentionDir).encode(tokens, Pooling.MEAN, true));
    }

    @Test
    void aTruncatedModelIsRefusedOnceCountedAndTheOldOneKeepsServing() throws Exception {
        final Path weights = attentionDir.resolve("model.safetensors");
        final byte[] good = Files.readAllBytes(weights);
        Files.write(weights, Arrays.copyOf(good, good.length / 2));
        pollTwice();
        assertThat(models.attention().sha256()).isEqualTo(firstSha);
        assertThat(failures()).isEqualTo(1);
        pollTwice();
        assertThat(failures()).as("the same bad files are not tried again").isEqualTo(1);

        // Once the copy is complete, it loads.
        final String second = writeBert(13);
        pollTwice();
        assertThat(models.attention().sha256()).isEqualTo(second);
        assertThat(failures()).isEqualTo(1);
    }

    @Test
    void aModelTheRunningTopologyCannotTakeIsRefused() throws Exception {
        final BertConfig fewerPositions = new BertConfig(200, 16, 2, 2, 32, Activation.GELU, 32, 2, 1e-12f);
        DefaultModels.writeBert(attentionDir, fewerPositions, 11);
        final WindowMlpConfig otherWindow = new WindowMlpConfig(200, 8, 6, 2, 16, 8, Activation.GELU, true, 0);
        final String denseBefore = models.dense().sha256();
        DefaultModels.writeDense(denseDir, otherWindow, 7);
        pollTwice();
        assertThat(models.attention().sha256()).isEqualTo(firstSha);
        assertThat(models.dense().sha256()).isEqualTo(denseBefore);
        assertThat(failures()).isEqualTo(2);
    }

    @Test
    void anotherHiddenSizeIsFineForNewSequences() throws Exception {
        final BertConfig wider = new BertConfig(200, 24, 3, 3, 48, Activation.GELU, 64, 2, 1e-12f);
        DefaultModels.writeBert(attentionDir, wider, 14);
        pollTwice();
        assertThat(models.attention().config()).isEqualTo(wider);
        assertThat(failures()).isZero();
    }

    @Test
    void aChangeOfConfigJsonAloneIsRefusedAndRewritingTheSameFilesIsNoChange() throws Exception {
        final Path config = attentionDir.resolve("config.json");
        final byte[] original = Files.readAllBytes(config);
        Files.write(config, original);
        Files.write(attentionDir.resolve("model.safetensors"), Files.readAllBytes(attentionDir.resolve("model.safetensors")));
        pollTwice();
        assertThat(models.attention().sha256()).isEqualTo(firstSha);
        assertThat(models.previousAttention()).isNull();
        assertThat(failures()).isZero();

        Files.writeString(config, new String(original, java.nio.charset.StandardCharsets.UTF_8)
                .replace("\"hidden_act\" : \"gelu\"", "\"hidden_act\" : \"relu\""));
        pollTwice();
        assertThat(models.attention().sha256()).isEqualTo(firstSha);
        assertThat(failures()).isEqualTo(1);
    }

    @Test
    void theOldModelStaysWhileASequenceUsesItAndAThirdWaitsUntilItIsFree() throws Exception {
        final ModelUsage usage = models.usage("attention-0_1");
        usage.started("open-sequence", firstSha);
        final String second = writeBert(15);
        pollTwice();
        assertThat(models.attention().sha256()).isEqualTo(second);
        pollTwice();
        assertThat(models.attention(firstSha)).as("an open sequence still needs it").isNotNull();
        assertThat(inUse(attentionDir, firstSha)).isTrue();

        final String third = writeBert(16);
        pollTwice();
        pollTwice();
        assertThat(models.attention().sha256()).as("at most two models: the third waits").isEqualTo(second);
        assertThat(failures()).isZero();

        usage.ended("open-sequence");
        watcher.poll();
        assertThat(models.attention(firstSha)).isNull();
        assertThat(inUse(attentionDir, firstSha)).isFalse();
        assertThat(models.attention().sha256()).isEqualTo(third);
        assertThat(models.previousAttention().sha256()).isEqualTo(second);
    }

    @Test
    void aClosedProcessorReleasesItsSequences() throws Exception {
        final ModelUsage usage = models.usage("attention-0_2");
        usage.started("s", firstSha);
        writeBert(17);
        pollTwice();
        watcher.poll();
        assertThat(models.attention(firstSha)).isNotNull();
        usage.close();
        watcher.poll();
        assertThat(models.attention(firstSha)).isNull();
    }

    @Test
    void aChangedDenseModelServesTheNextBatchAtOnce() throws Exception {
        final DenseWindowModel before = models.dense();
        DefaultModels.writeDense(denseDir, TestModels.DENSE, 8);
        pollTwice();
        final String after = DenseWindowModel.load(denseDir).sha256();
        assertThat(models.dense().sha256()).isEqualTo(after).isNotEqualTo(before.sha256());
        assertThat(inUse(denseDir, after)).isTrue();
        assertThat(inUse(denseDir, before.sha256())).isFalse();
    }

    @Test
    void theWatcherThreadPicksUpAChangeByItself() throws Exception {
        watcher.start(20);
        final String second = writeBert(18);
        Awaitility.await().atMost(Duration.ofSeconds(30))
                .until(() -> models.attention().sha256().equals(second));
        assertThat(Thread.getAllStackTraces().keySet()).anySatisfy(t -> {
            assertThat(t.getName()).isEqualTo("seqembed-model-watcher");
            assertThat(t.isDaemon()).isTrue();
        });
    }
}
