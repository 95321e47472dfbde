package dev.seqembed.platform;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BlasKernelTest {

    @Test
    void choiceFollowsTheRules() {
        BlasKernel.ensureConfigured();
        BlasKernel.ensureConfigured(); // idempotent
        final String env = System.getenv("OPENBLAS_CORETYPE");
        final List<String> flags = CpuInfo.flags();
        if (env != null && !env.isBlank()) {
            // never overridden
            assertThat(BlasKernel.source()).isEqualTo("environment");
            assertThat(BlasKernel.coreType()).isEqualTo(env.trim());
        } else if (flags.contains("avx512f")) {
            assertThat(BlasKernel.source()).isEqualTo("auto:avx512f");
            assertThat(BlasKernel.coreType()).isEqualTo("SkylakeX");
        } else if (flags.contains("avx2")) {
            assertThat(BlasKernel.source()).isEqualTo("auto:avx2");
            assertThat(BlasKernel.coreType()).isEqualTo("Haswell");
        } else {
            assertThat(BlasKernel.source()).isIn("none", "environment");
        }
        final String wait = System.getenv("OMP_WAIT_POLICY");
        assertThat(BlasKernel.waitPolicy()).isEqualTo(wait != null && !wait.isBlank() ? wait.trim() : "PASSIVE");
        final String threads = System.getenv("OMP_NUM_THREADS");
        if (threads != null && !threads.isBlank()) {
            assertThat(BlasKernel.nativeThreads()).isEqualTo(threads.trim());
        }
    }

    @Test
    void probeAgreesWithJava() {
        assertThat(BlasKernel.probe()).isTrue();
    }

    @Test
    void theLoadedLibraryUsesTheChosenKernel() {
        BlasKernel.probe(); // loads ND4J and OpenBLAS
        final String active = BlasKernel.activeCoreName();
        assertThat(active).isNotIn("not loaded", "unknown", "");
        if (!"default".equals(BlasKernel.coreType())) {
            // OpenBLAS reports core names in its own case (e.g. "Haswell", "SkylakeX")
            assertThat(active).isEqualToIgnoringCase(BlasKernel.coreType());
        }
    }
}
