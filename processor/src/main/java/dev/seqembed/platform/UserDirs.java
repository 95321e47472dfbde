package dev.seqembed.platform;

import java.nio.file.Path;

/** Where seqembed keeps files of its own when the user names no place (XDG base directories). */
public final class UserDirs {

    private UserDirs() {
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
}
