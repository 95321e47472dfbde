package dev.seqembed.runtime;

import dev.seqembed.platform.UserDirs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.kafka.common.utils.Utils;

/**
 * A Kafka Streams state directory for one in-JVM run (demo, bench): fresh each time, because reusing a state
 * directory against a fresh broker floods TaskCorruptedException, and deleted afterwards.
 */
public final class ScratchStateDir implements AutoCloseable {

    private final Path path;

    public ScratchStateDir(final String prefix) throws IOException {
        // Under the user's cache, not /tmp: Kafka Streams warns that the OS may clear /tmp under a running app.
        final Path parent = UserDirs.cacheRoot().resolve("state");
        Files.createDirectories(parent);
        this.path = Files.createTempDirectory(parent, prefix);
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        try {
            Utils.delete(path.toFile());
        } catch (final IOException ignored) {
            // A temp dir left behind is harmless.
        }
    }
}
