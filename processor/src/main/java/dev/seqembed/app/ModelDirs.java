package dev.seqembed.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import dev.seqembed.model.DefaultModels;

/** Where models, native libraries and local state live when the user names none. */
public final class ModelDirs {

    private ModelDirs() {
    }

    /** {@code $XDG_DATA_HOME/seqembed} or {@code ~/.local/share/seqembed}: data that must survive restarts. */
    public static Path dataRoot() {
        final String xdg = System.getenv("XDG_DATA_HOME");
        final Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("seqembed");
    }

    /** {@code $XDG_CACHE_HOME/seqembed} or {@code ~/.cache/seqembed}. */
    public static Path cacheRoot() {
        final String xdg = System.getenv("XDG_CACHE_HOME");
        final Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("seqembed");
    }

    /**
     * The default models of SPEC §4.3, written once into the cache (they are deterministic, so a cached copy is
     * the same bytes as a fresh one).
     *
     * @return the directory holding {@code dense/} and {@code attention/}
     */
    public static synchronized Path defaultModels() throws IOException {
        final Path dir = cacheRoot().resolve("models").resolve("default-v2");
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
