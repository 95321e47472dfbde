package dev.seqembed.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LiveModelsTest {

    private static final String SHA = "ab".repeat(32);

    @Test
    void usagesCountOpenSequencesPerModelAcrossProcessorInstances() {
        final LiveModels models = new LiveModels(null, null);
        final ModelUsage a = models.usage("attention-buffer-0_0");
        final ModelUsage b = models.usage("attention-buffer-0_1");
        a.started("s1", SHA);
        a.started("s1", SHA);
        b.started("s2", SHA);
        b.started("s3", "cd".repeat(32));
        assertThat(models.sequencesOn(SHA)).isEqualTo(2);
        a.ended("s1");
        assertThat(models.sequencesOn(SHA)).isEqualTo(1);
        b.close();
        assertThat(models.sequencesOn(SHA)).isZero();
    }

    @Test
    void closingAnInstanceAfterItsTaskReopenedElsewhereKeepsTheNewOne() {
        final LiveModels models = new LiveModels(null, null);
        final ModelUsage before = models.usage("attention-kv-cache-0_0");
        before.started("s", SHA);
        // The task moved to another stream thread, whose instance initialised before the old one closed.
        final ModelUsage after = models.usage("attention-kv-cache-0_0");
        after.started("s", SHA);
        before.close();
        assertThat(models.sequencesOn(SHA)).isEqualTo(1);
        after.close();
        assertThat(models.sequencesOn(SHA)).isZero();
    }
}
