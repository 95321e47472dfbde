package dev.seqembed.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.avro.Embedding;
import dev.seqembed.engine.AttentionEngine;
import dev.seqembed.engine.Vectors;
import dev.seqembed.model.Pooling;
import dev.seqembed.testing.TestModels;

/**
 * What the topology tests share: the small real models, written once per test class; a state directory per test;
 * the test's {@link TopologyFixture}, closed after it; reading dead-letter headers and comparing vectors.
 */
abstract class TopologyTestBase {

    @TempDir
    static Path modelDir;

    @TempDir
    Path stateDir;

    static Models models;
    TopologyFixture fx;

    @BeforeAll
    static void loadModels() throws Exception {
        models = TestModels.write(modelDir);
    }

    @AfterEach
    void closeFixture() {
        if (fx != null) {
            fx.close();
        }
    }

    /** A record's header as text, or null when it has none of that name. */
    static String header(final TestRecord<byte[], byte[]> r, final String name) {
        final Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /**
     * The Embedding's vector is {@code want} to 1e-5 per component: packed forwards of several sequences may round
     * differently from one alone, so close, not bit-equal.
     */
    static void assertVector(final Embedding e, final float[] want) {
        final float[] got = Vectors.toArray(e.getVector());
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < want.length; i++) {
            assertThat(got[i]).isCloseTo(want[i], within(1e-5f));
        }
    }

    /**
     * Attention engines on the test BERT (mean pooling, normalised) whose next forward fails with "injected model
     * failure" whenever {@code fail} is set (the flag is cleared by that failure).
     */
    static AttentionEngine.Factory failingOnceWhenSet(final AtomicBoolean fail) {
        return clock -> new AttentionEngine(models.attention(), Pooling.MEAN, true, () -> {
            if (fail.getAndSet(false)) {
                throw new IllegalStateException("injected model failure");
            }
            return clock.millis();
        });
    }
}
