package dev.seqembed.platform;

import java.lang.management.ManagementFactory;

import javax.management.ObjectName;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** With the vector kernels on (surefire adds the module), the JVM holds the directive that keeps them out of line. */
class VectorSupportTest {

    @Test
    void theJvmCompilesTheVectorKernelsOnTheirOwn() throws Exception {
        assertThat(VectorSupport.enabled()).isTrue();
        final Object printed = ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesPrint",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
        assertThat(printed.toString())
                .contains("matching: dev/seqembed/*.*")
                .contains("inline: -" + VectorSupport.KERNELS + ".*");
    }
}
