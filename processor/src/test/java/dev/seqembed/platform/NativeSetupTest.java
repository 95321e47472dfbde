package dev.seqembed.platform;

import org.junit.jupiter.api.Test;

import java.util.Map;

import dev.seqembed.config.SeqembedConfig;

import static org.assertj.core.api.Assertions.assertThat;

class NativeSetupTest {

    private static int threads(final String role, final String streams, final int cores) {
        return NativeSetup.defaultThreads(SeqembedConfig.from(Map.of("role", role, "num.stream.threads", streams)),
                cores);
    }

    @Test
    void modelThreadsShareTheCoresAmongTheStreamThreadsOfTheClientsTheRoleRuns() {
        assertThat(threads("all", "1", 2)).isEqualTo(1); // ingest + attention, one thread each
        assertThat(threads("attention", "1", 2)).isEqualTo(2); // the attention client alone has both cores
        assertThat(threads("ingest", "1", 8)).isEqualTo(8);
        assertThat(threads("all", "2", 8)).isEqualTo(2);
        assertThat(threads("attention", "4", 2)).isEqualTo(1); // never below one
    }
}
