package dev.seqembed.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;

import dev.seqembed.cli.Main;

/** Runs one command in this JVM, as a user runs it on the command line. */
public final class Cli {

    private Cli() {
    }

    /** What a command printed, through picocli's writers and System.out/err alike. */
    public record Result(int exit, String out, String err) {
        /** The non-blank lines on stderr. */
        public List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    /** Runs {@code seqembed args…} and returns its exit code and output. */
    public static Result run(final String... args) {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
        final ByteArrayOutputStream sysErr = new ByteArrayOutputStream();
        final PrintStream oldOut = System.out;
        final PrintStream oldErr = System.err;
        final int exit;
        try {
            System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(sysErr, true, StandardCharsets.UTF_8));
            final picocli.CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            exit = cl.execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Result(exit, out + sysOut.toString(StandardCharsets.UTF_8),
                err + sysErr.toString(StandardCharsets.UTF_8));
    }

    /** {@link #run(String...)} with the arguments in a list. */
    public static Result run(final List<String> args) {
        return run(args.toArray(String[]::new));
    }
}
