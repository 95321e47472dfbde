package dev.seqembed.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.seqembed.client.SequenceInput;
import dev.seqembed.client.SyntheticWorkload;
import dev.seqembed.client.TokenProducer;
import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.config.UserException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code produce}: sends token sequences from a JSONL file, a text file or a synthetic generator. */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = "Produce token sequences to the tokens topic, split into chunks.")
public final class ProduceCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Option(names = "--topic", paramLabel = "T", description = "Topic (default tokens).")
    String topic;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--chunk", paramLabel = "K", description = "Tokens per chunk (default: whole sequence in one chunk).")
    int chunk;

    @Option(names = "--min-len", paramLabel = "A", defaultValue = "4", description = "Shortest synthetic sequence (default 4).")
    int minLen;

    @Option(names = "--max-len", paramLabel = "B", defaultValue = "400", description = "Longest synthetic sequence (default 400).")
    int maxLen;

    @Option(names = "--topic-wait-ms", paramLabel = "M", defaultValue = "20000",
            description = "How long to wait for a missing topic to be created, e.g. by a starting `run` (default 20000).")
    long topicWaitMs;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the synthetic generator (default 42).")
    long seed;

    @Option(names = "--loop", description = "Send the input again and again until stopped (SIGTERM, Ctrl-C). Sequence "
            + "ids get the suffix @<run>.<pass> so that every pass is new to the processor.")
    boolean loop;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "0",
            description = "At most R sequences per second (default 0: as fast as the producer goes).")
    double rate;

    private volatile boolean stopping;

    /** Where sequences come from. */
    static final class Source {
        @Option(names = "--input", paramLabel = "FILE.jsonl", description = "Lines of {\"sequence_id\":…, \"tokens\":[…]}.")
        Path input;

        @ArgGroup(exclusive = false)
        TextSource text;

        @Option(names = "--synthetic", paramLabel = "N", description = "N generated sequences.")
        Integer synthetic;
    }

    @Override
    public Integer call() throws Exception {
        final SeqembedConfig config = options.resolve(Map.of());
        if (chunk < 0 || minLen < 1 || maxLen < minLen || rate < 0) {
            throw new UserException("need --chunk >= 0, 1 <= --min-len <= --max-len and --rate >= 0");
        }
        final List<SequenceInput> sequences;
        if (source.input != null) {
            sequences = JsonlInput.read(source.input, spec.commandLine());
        } else if (source.text != null) {
            sequences = source.text.read(spec.commandLine().getErr()::println);
        } else {
            sequences = SyntheticWorkload.generate(source.synthetic, minLen, maxLen, 30522, seed, "seq-");
        }
        if (loop && sequences.isEmpty()) {
            throw new UserException("--loop needs at least one sequence in the input");
        }
        final String target = topic != null ? topic : config.topicTokens();
        final Properties props = config.streamsProperties();
        ClusterCheck.requireTopic(props, target, Duration.ofMillis(topicWaitMs),
                "; `run` creates it, or create it yourself");
        try (TokenProducer producer = new TokenProducer(props, target)) {
            return loop ? sendInLoop(producer, sequences) : sendOnce(producer, sequences);
        }
    }

    private int sendOnce(final TokenProducer producer, final List<SequenceInput> sequences) {
        final Pacer pacer = new Pacer(rate);
        for (final SequenceInput s : sequences) {
            pacer.await();
            producer.send(s, chunk);
        }
        producer.flush();
        return report(producer, sequences.size());
    }

    /** Passes until a shutdown signal; the hook waits for the last pass's sends to be acknowledged. */
    private int sendInLoop(final TokenProducer producer, final List<SequenceInput> sequences) {
        final String run = Long.toString(System.currentTimeMillis() / 1000, 36);
        final CountDownLatch flushed = new CountDownLatch(1);
        final Thread hook = new Thread(() -> {
            stopping = true;
            try {
                flushed.await(30, TimeUnit.SECONDS);
            } catch (final InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "produce-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        final Pacer pacer = new Pacer(rate);
        long sent = 0;
        try {
            for (int pass = 1; !stopping && producer.failedChunks() == 0; pass++) {
                for (final SequenceInput s : sequences) {
                    if (stopping || producer.failedChunks() > 0) {
                        break;
                    }
                    pacer.await();
                    producer.send(new SequenceInput(s.sequenceId() + "@" + run + "." + pass, s.tokens()), chunk);
                    sent++;
                }
                if (!stopping) {
                    spec.commandLine().getErr().println("pass " + pass + ": " + sent + " sequences, "
                            + producer.chunksSent() + " chunks sent so far");
                }
            }
            producer.flush();
            return report(producer, sent);
        } finally {
            flushed.countDown();
        }
    }

    /** Every send is confirmed: a chunk the brokers did not acknowledge is never reported as produced. */
    private int report(final TokenProducer producer, final long sequences) {
        if (producer.failedChunks() > 0) {
            final Exception e = producer.firstFailure();
            spec.commandLine().getErr().println("seqembed produce: delivered "
                    + (producer.chunksSent() - producer.failedChunks()) + " of " + producer.chunksSent()
                    + " chunks; the others failed: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            return 1;
        }
        spec.commandLine().getErr().println("produced " + sequences + " sequences in " + producer.chunksSent()
                + " chunks");
        return 0;
    }

    /** Spaces sends evenly at a rate (0 = no limit), catching up after a slow send rather than bursting. */
    private static final class Pacer {
        private final long intervalNanos;
        private long next = System.nanoTime();

        Pacer(final double perSecond) {
            this.intervalNanos = perSecond <= 0 ? 0 : (long) (1e9 / perSecond);
        }

        void await() {
            if (intervalNanos == 0) {
                return;
            }
            final long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (final InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            next = Math.max(next + intervalNanos, System.nanoTime() - intervalNanos);
        }
    }
}
