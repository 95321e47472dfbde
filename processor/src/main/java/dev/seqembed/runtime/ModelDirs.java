package dev.seqembed.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import dev.seqembed.model.DefaultModels;
import dev.seqembed.platform.UserDirs;

/** The built-in default models, cached under {@link UserDirs#cacheRoot()}. */
public final class ModelDirs {

    private ModelDirs() {
    }

    /**
     * The default models of SPEC §4.3, written once into the cache (they are deterministic, so a cached copy is
     * the same bytes as a fresh one).
     *
     * @return the directory holding {@code dense/} and {@code attention/}
     */
    public static synchronized Path defaultModels() throws IOException {
        final Path dir = UserDirs.cacheRoot().resolve("models").resolve("default-v2");
        if (Files.isRegularFile(dir.resolve("attention").resolve("model.safetensors"))
                && Files.isRegularFile(dir.resolve("dense").resolve("model.safetensors"))) {
            return dir;
        }
        Files.createDirectories(dir.getParent());
        // Write beside, then move: a half-written directory is never mistaken for a complete one.
        final Path tmp = Files.createTempDirectory(dir.getParent(), "default-v2-");
        DefaultModels.write(tmp);
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (final java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            // Another process won the race with the same bytes.
        }
        return dir;
    }
}
