package dev.seqembed.topology;

import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import dev.seqembed.testing.TestModels;

/**
 * What the topology tests share: the small real models, written once per test class; a state directory per test;
 * the test's {@link TopologyFixture}, closed after it.
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
}
