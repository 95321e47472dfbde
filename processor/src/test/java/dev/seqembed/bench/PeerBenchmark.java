package dev.seqembed.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.seqembed.model.BertModel;
import dev.seqembed.model.Pooling;
import dev.seqembed.platform.BlasKernel;
import dev.seqembed.testing.MiniLm;
import dev.seqembed.testing.OnnxRuntimeEncoder;
import dev.seqembed.testing.VectorDistance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * seqembed next to ONNX Runtime on the real all-MiniLM-L6-v2 (imported from the langchain4j jar, SPEC §10.1), in
 * one run: T = 32, 128, 384, one sequence per call ({@code b1}) and 8 sequences per call ({@code b8}). Same thread
 * budget on both sides: ONNX Runtime gets as many intra-op threads as seqembed's native (OpenMP/OpenBLAS)
 * threads, one inter-op thread, sequential execution. Writes SPEC §10.7's
 * {@code peers.onnxruntime.T<T>.{b1,b8}.{seqembed_seq_per_s, onnxruntime_seq_per_s, ratio}} (ratio = seqembed /
 * ONNX Runtime) and prints a table.
 *
 * <p>Method: both engines are first checked to give the same vectors (1e-5 relative; a benchmark of different
 * results would be meaningless), then warmed up, then timed in alternating rounds (seqembed, ONNX Runtime,
 * seqembed, ...) so that a burst of load from elsewhere hits both; each figure is the median over the rounds.
 * Outside the shipped jar (test scope): {@code mvn -B -Ppeer-bench -pl processor -am verify}; arguments
 * {@code [--json FILE] [--rounds N] [--seconds S]} (seconds per engine and round).
 */
public final class PeerBenchmark {
    static final int[] LENGTHS = {32, 128, 384};
    static final int BATCH = 8;

    private PeerBenchmark() {
    }

    /** One engine's call on a batch of sequences. */
    private interface Call {
        void run(int[][] batch) throws Exception;
    }

    public static void main(final String[] args) throws Exception {
        Path json = Path.of("target", "peer-bench.json");
        int rounds = 3;
        double seconds = 1.5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json" -> json = Path.of(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (expected --json FILE, --rounds N, --seconds S)");
            }
        }
        final BertModel model = BertModel.load(MiniLm.importedDir());
        final int threads = nativeThreads();
        final ObjectMapper mapper = new ObjectMapper();
        final ObjectNode root = mapper.createObjectNode();
        final ObjectNode peers = root.putObject("peers").putObject("onnxruntime");
        final StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, "%5s %6s %16s %19s %7s%n", "T", "batch", "seqembed seq/s",
                "onnxruntime seq/s", "ratio"));
        try (OnnxRuntimeEncoder ort = new OnnxRuntimeEncoder(MiniLm.onnxBytes(), threads)) {
            for (final int t : LENGTHS) {
                final int[][] sequences = new int[BATCH][];
                for (int s = 0; s < BATCH; s++) {
                    sequences[s] = MiniLm.tokens(31L * t + s, t);
                }
                checkSameVectors(model, ort, sequences);
                final ObjectNode node = peers.putObject("T" + t);
                for (final int batch : new int[] {1, BATCH}) {
                    final Call seqembed = batch == 1
                            ? b -> model.encode(b[0], Pooling.MEAN, true)
                            : b -> encodeBatch(model, b);
                    final Call onnxRuntime = ort::embed;
                    final double[][] perSecond = timeAlternating(seqembed, onnxRuntime, sequences, batch, rounds,
                            seconds);
                    final double se = median(perSecond[0]);
                    final double on = median(perSecond[1]);
                    final ObjectNode cell = node.putObject("b" + batch);
                    cell.put("seqembed_seq_per_s", round(se));
                    cell.put("onnxruntime_seq_per_s", round(on));
                    cell.put("ratio", Math.round(se / on * 1000) / 1000.0);
                    table.append(String.format(Locale.ROOT, "%5d %6d %16.1f %19.1f %7.2f%n", t, batch, se, on,
                            se / on));
                }
            }
        }
        final Path parent = json.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        mapper.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), root);
        System.out.printf("peer benchmark: all-MiniLM-L6-v2, seqembed (OpenBLAS kernel %s, %d native threads) vs "
                        + "ONNX Runtime (%d intra-op threads, 1 inter-op, sequential); median of %d rounds of %.1f s "
                        + "each; %d cores, load average %s%n%s-> %s%n", BlasKernel.activeCoreName(), threads, threads,
                rounds, seconds, Runtime.getRuntime().availableProcessors(), loadAverage(), table,
                json.toAbsolutePath());
    }

    /** seqembed on a batch of sequences: one packed forward (per-token GEMMs over all rows, attention per sequence). */
    static float[][] encodeBatch(final BertModel model, final int[][] sequences) {
        return model.encodeBatch(sequences, Pooling.MEAN, true);
    }

    /** Both engines' vectors agree (b1 and b8), or the benchmark stops. */
    private static void checkSameVectors(final BertModel model, final OnnxRuntimeEncoder ort, final int[][] sequences)
            throws Exception {
        final double[][] peer = ort.embed(sequences);
        final float[][] batched = encodeBatch(model, sequences);
        for (int s = 0; s < sequences.length; s++) {
            final double single = VectorDistance.relativeL2(model.encode(sequences[s], Pooling.MEAN, true), peer[s]);
            final double inBatch = VectorDistance.relativeL2(batched[s], peer[s]);
            if (!(single <= 1e-5 && inBatch <= 1e-5)) {
                throw new IllegalStateException("seqembed and ONNX Runtime disagree at T=" + sequences[s].length
                        + ": relative L2 distance " + single + " (one by one), " + inBatch + " (batched)");
            }
        }
    }

    /**
     * Sequences per second of each engine in each round: warm-up (one round's worth, untimed), then rounds of
     * {@code seconds} per engine, alternating. A call processes {@code batch} sequences.
     */
    private static double[][] timeAlternating(final Call a, final Call b, final int[][] sequences, final int batch,
                                              final int rounds, final double seconds) throws Exception {
        final int[][][] batches = new int[sequences.length][][];
        for (int i = 0; i < sequences.length; i++) {
            batches[i] = batch == 1 ? new int[][] {sequences[i]} : sequences;
        }
        rate(a, batches, batch, seconds);
        rate(b, batches, batch, seconds);
        final double[][] out = new double[2][rounds];
        for (int r = 0; r < rounds; r++) {
            out[0][r] = rate(a, batches, batch, seconds);
            out[1][r] = rate(b, batches, batch, seconds);
        }
        return out;
    }

    /** Calls {@code call} on the batches in turn for at least {@code seconds} (and 3 calls); sequences per second. */
    private static double rate(final Call call, final int[][][] batches, final int batch, final double seconds)
            throws Exception {
        final long budget = (long) (seconds * 1e9);
        final long start = System.nanoTime();
        long calls = 0;
        long now;
        do {
            call.run(batches[(int) (calls % batches.length)]);
            calls++;
            now = System.nanoTime();
        } while (now - start < budget || calls < 3);
        return calls * batch / ((now - start) / 1e9);
    }

    private static double median(final double[] v) {
        final double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double round(final double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static int nativeThreads() {
        try {
            return Integer.parseInt(BlasKernel.nativeThreads());
        } catch (final NumberFormatException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    private static String loadAverage() {
        try {
            final String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return String.join(" ", Arrays.copyOf(fields, Math.min(3, fields.length)));
        } catch (final java.io.IOException e) {
            return "unknown";
        }
    }
}
