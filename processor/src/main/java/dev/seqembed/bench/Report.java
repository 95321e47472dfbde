package dev.seqembed.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.config.UserException;
import dev.seqembed.serde.EmbeddingJson;

/**
 * The {@code report} plot: cost (FLOPs and time) against sequence length, dense vs attention, as a PNG with two panels
 * sharing a logarithmic length axis (FLOPs above, milliseconds below).
 *
 * <p>Input, detected by content:
 * <ul>
 *   <li>a {@code bench --json} document (an object with an {@code "encoder"} key): the attention encoder per
 *       length; the causal per-chunk cost with the KV cache and the full recompute, at x = prefix + chunk; the
 *       dense path per sequence length from the model's window count and the measured cost per window at the
 *       default micro-batch (64, else the largest measured);</li>
 *   <li>consumed or {@code embed}-ed Embeddings, one JSON object per line ({@link EmbeddingJson}): aggregated per
 *       sequence and path (sum of FLOPs and compute time; length = the largest {@code metrics.sequence_length}).
 *       An attention sequence with a record of index &gt; 0 is causal; its chunks are also plotted one by one at
 *       x = the sequence length reached after the chunk. A record with index 0 for an id seen before starts a
 *       new occurrence (files of several runs or modes concatenated). A causal sequence sent as one chunk looks
 *       (and costs) like an encoder one and is plotted as such.</li>
 * </ul>
 */
public final class Report {


    public static final String DENSE = "dense";
    public static final String ENCODER = "attention encoder";
    public static final String CAUSAL_SEQUENCE = "attention causal (sum of chunks)";
    public static final String CAUSAL_CHUNK = "attention causal per chunk";
    public static final String RECOMPUTE = "attention causal, full recompute (no cache)";

    public static final int WIDTH = 1100;
    public static final int HEIGHT = 1000;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Report() {
    }

    /** One point: sequence length (x), FLOPs and milliseconds. */
    public record Point(double length, double flops, double ms) {
    }

    /** A named series; {@code lines} joins its points (sorted by length), otherwise a scatter. */
    public record Series(String name, boolean lines, List<Point> points) {
    }

    /** What the input held. */
    public record Data(String kind, String subtitle, List<Series> series) {
        public Series series(final String name) {
            return series.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
        }
    }

    /** Writes the chart of {@code data} as a PNG of {@link #WIDTH} x {@link #HEIGHT}. */
    public static void writePng(final Data data, final Path output) throws IOException {
        System.setProperty("java.awt.headless", "true");
        final JFreeChart chart = chart(data);
        try (OutputStream os = Files.newOutputStream(output)) {
            ChartUtils.writeChartAsPNG(os, chart, WIDTH, HEIGHT);
        }
    }

    // ---------------------------------------------------------------- input

    /** Reads a bench JSON or an embeddings JSONL file; user errors as {@link UserException}. */
    public static Data read(final Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new UserException("no such file: " + file);
        }
        final String text;
        try {
            text = Files.readString(file);
        } catch (final CharacterCodingException e) {
            throw new UserException(file + " is not UTF-8 text (expected a bench JSON or embeddings JSONL)");
        }
        if (text.isBlank()) {
            throw new UserException(file + " is empty");
        }
        final String trimmed = text.strip();
        if (trimmed.startsWith("{")) {
            JsonNode root = null;
            try {
                root = JSON.readTree(trimmed);
            } catch (final JsonProcessingException e) {
                // Several objects (JSONL) or broken JSON: try it as lines below.
            }
            if (root != null && root.isObject() && root.has("encoder")) {
                return fromBench(file, root);
            }
        }
        return fromEmbeddings(file, text);
    }

    static Data fromBench(final Path file, final JsonNode root) {
        if (!root.get("encoder").isArray()) {
            throw new UserException(file + ": bench JSON whose \"encoder\" is not an array");
        }
        final BenchJson.Document doc;
        try {
            doc = BenchJson.MAPPER.treeToValue(root, BenchJson.Document.class);
        } catch (final JsonProcessingException e) {
            throw new UserException(file + ": not a bench JSON (" + firstLine(e.getOriginalMessage()) + ")");
        }
        final List<Series> series = new ArrayList<>();
        final List<Point> encoder = new ArrayList<>();
        for (final BenchJson.EncoderRow r : doc.encoder()) {
            encoder.add(new Point(r.length(), r.flops(), r.ms()));
        }
        final List<Point> chunk = new ArrayList<>();
        final List<Point> recompute = new ArrayList<>();
        int chunkSize = 0;
        for (final BenchJson.CausalRow r : orEmpty(doc.causal())) {
            final double x = r.prefix() + r.chunk();
            chunkSize = r.chunk();
            chunk.add(new Point(x, r.flopsCached(), r.cachedMs()));
            recompute.add(new Point(x, r.flopsRecompute(), r.recomputeMs()));
        }
        final List<Point> dense = denseFromBench(doc, encoder);
        if (!dense.isEmpty()) {
            series.add(new Series(DENSE, true, dense));
        }
        series.add(new Series(ENCODER, true, encoder));
        if (!chunk.isEmpty()) {
            series.add(new Series(CAUSAL_CHUNK + " (" + chunkSize + " tokens, KV cache)", true, chunk));
            series.add(new Series(RECOMPUTE, true, recompute));
        }
        final BenchJson.Environment env = doc.environment();
        final String subtitle = String.format("bench%s: %s, OpenBLAS %s (%s), %s native threads; plain sgemm %.0f GFLOP/s",
                env != null && env.quick() ? " --quick" : "", known(env == null ? null : env.cpuModel()),
                known(env == null ? null : env.activeCore()), known(env == null ? null : env.openblasCoretypeSource()),
                known(env == null ? null : env.nativeThreads()), doc.sgemm() == null ? 0.0 : doc.sgemm().gflops());
        return new Data("bench JSON", subtitle, series);
    }

    private static String known(final String s) {
        return s == null ? "?" : s;
    }

    private static <T> List<T> orEmpty(final List<T> list) {
        return list == null ? List.of() : list;
    }

    /**
     * Dense cost per sequence length: window count (SPEC §4.1) x FLOPs per window, and x the measured time per
     * window at the default batch of 64 windows (else the largest batch measured).
     */
    private static List<Point> denseFromBench(final BenchJson.Document doc, final List<Point> encoder) {
        final BenchJson.DenseModel model = doc.models() == null ? null : doc.models().dense();
        final List<BenchJson.DenseRow> rows = orEmpty(doc.dense());
        if (model == null || model.window() == null || model.stride() == null || rows.isEmpty()) {
            return List.of();
        }
        BenchJson.DenseRow chosen = null;
        for (final BenchJson.DenseRow r : rows) {
            if (r.batch() == 64) {
                chosen = r;
                break;
            }
            if (chosen == null || r.batch() > chosen.batch()) {
                chosen = r;
            }
        }
        final int w = model.window();
        final int s = model.stride();
        final double flopsPerWindow = model.flopsPerWindow();
        final double msPerWindow = chosen.ms() / Math.max(1, chosen.batch());
        final List<Point> out = new ArrayList<>();
        for (final Point p : encoder) {
            final int n = (int) p.length();
            final int windows = n <= w ? 1 : 1 + (n - w + s - 1) / s;
            out.add(new Point(n, windows * flopsPerWindow, windows * msPerWindow));
        }
        return out;
    }

    private static final class Agg {
        final List<Point> chunks = new ArrayList<>();
        double flops;
        double nanos;
        int length;
        int records;
        boolean chunked;
    }

    static Data fromEmbeddings(final Path file, final String text) {
        // Per path and sequence id the records in arrival order; a record with index 0 for an id already seen
        // starts a new occurrence (the same ids embedded again, e.g. files of several runs or modes concatenated).
        final Map<String, Agg> current = new LinkedHashMap<>();
        final List<Agg> dense = new ArrayList<>();
        final List<Agg> attention = new ArrayList<>();
        int lineNo = 0;
        int records = 0;
        for (final String line : text.split("\\R")) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            final Embedding e;
            try {
                e = EmbeddingJson.read(line.strip());
            } catch (final IOException | RuntimeException ex) {
                throw new UserException(file + " line " + lineNo + ": neither a bench JSON nor an Embedding JSON line ("
                        + firstLine(ex.getMessage()) + ")");
            }
            records++;
            final ComputeMetrics m = e.getMetrics();
            final String key = e.getPath() + "|" + e.getSequenceId();
            Agg a = current.get(key);
            if (a == null || e.getIndex() == 0) {
                a = new Agg();
                current.put(key, a);
                (e.getPath() == EmbeddingPath.DENSE ? dense : attention).add(a);
            }
            a.flops += m.getFlops();
            a.nanos += m.getComputeNanos();
            a.length = Math.max(a.length, m.getSequenceLength());
            a.records++;
            if (e.getPath() == EmbeddingPath.ATTENTION) {
                a.chunked |= e.getIndex() > 0 || e.getStart() > 0;
                if (e.getLength() > 0) {
                    a.chunks.add(new Point(m.getSequenceLength(), m.getFlops(), m.getComputeNanos() / 1e6));
                }
            }
        }
        final List<Point> densePoints = new ArrayList<>();
        dense.forEach(a -> densePoints.add(new Point(a.length, a.flops, a.nanos / 1e6)));
        final List<Point> encoder = new ArrayList<>();
        final List<Point> causal = new ArrayList<>();
        final List<Point> perChunk = new ArrayList<>();
        attention.forEach(a -> {
            if (a.chunked) {
                causal.add(new Point(a.length, a.flops, a.nanos / 1e6));
                perChunk.addAll(a.chunks);
            } else {
                encoder.add(new Point(a.length, a.flops, a.nanos / 1e6));
            }
        });
        final List<Series> series = new ArrayList<>();
        if (!densePoints.isEmpty()) {
            series.add(new Series(DENSE, false, densePoints));
        }
        if (!encoder.isEmpty()) {
            series.add(new Series(ENCODER, false, encoder));
        }
        if (!causal.isEmpty()) {
            series.add(new Series(CAUSAL_SEQUENCE, false, causal));
            series.add(new Series(CAUSAL_CHUNK, false, perChunk));
        }
        if (series.isEmpty()) {
            throw new UserException(file + " holds no embeddings");
        }
        return new Data("embeddings JSONL", String.format("%d embeddings: %d dense sequences, %d attention sequences "
                + "(per sequence: sum of FLOPs and compute time)", records, dense.size(), attention.size()), series);
    }

    private static String firstLine(final String s) {
        if (s == null) {
            return "unreadable";
        }
        final int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    // ---------------------------------------------------------------- chart

    private static Color color(final String name) {
        if (name.startsWith(DENSE)) {
            return new Color(0x1f77b4);
        }
        if (name.startsWith(ENCODER)) {
            return new Color(0xd62728);
        }
        if (name.startsWith(CAUSAL_CHUNK)) {
            return new Color(0x2ca02c);
        }
        if (name.startsWith(RECOMPUTE)) {
            return new Color(0xff7f0e);
        }
        return new Color(0x9467bd);
    }

    public static JFreeChart chart(final Data data) {
        final LogarithmicAxis length = logAxis("sequence length (tokens)", false);
        final CombinedDomainXYPlot plot = new CombinedDomainXYPlot(length);
        plot.setGap(12);
        final XYPlot flops = panel(data, true, logAxis("FLOPs (analytic)", true));
        final XYPlot time = panel(data, false, logAxis("compute time (ms)", false));
        plot.add(flops, 1);
        plot.add(time, 1);
        // One legend entry per series (both panels share colours and shapes).
        plot.setFixedLegendItems(flops.getLegendItems());
        final JFreeChart chart = new JFreeChart("seqembed: cost against sequence length, dense vs attention",
                new Font("SansSerif", Font.BOLD, 18), plot, true);
        chart.addSubtitle(new TextTitle(data.subtitle(), new Font("SansSerif", Font.PLAIN, 12)));
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static LogarithmicAxis logAxis(final String label, final boolean exponents) {
        final LogarithmicAxis axis = new LogarithmicAxis(label);
        axis.setStrictValuesFlag(false); // non-positive values are filtered out before plotting
        axis.setAllowNegativesFlag(false);
        axis.setExpTickLabelsFlag(exponents);
        axis.setLabelFont(new Font("SansSerif", Font.PLAIN, 13));
        return axis;
    }

    private static XYPlot panel(final Data data, final boolean flops, final LogarithmicAxis rangeAxis) {
        final XYSeriesCollection dataset = new XYSeriesCollection();
        final XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer();
        int i = 0;
        for (final Series s : data.series()) {
            final XYSeries xy = new XYSeries(s.name(), s.lines(), true);
            for (final Point p : s.points()) {
                final double y = flops ? p.flops() : p.ms();
                if (p.length() > 0 && y > 0 && Double.isFinite(y)) {
                    xy.add(p.length(), y);
                }
            }
            dataset.addSeries(xy);
            final Color c = color(s.name());
            renderer.setSeriesPaint(i, c);
            renderer.setSeriesLinesVisible(i, s.lines());
            renderer.setSeriesShapesVisible(i, true);
            final Shape shape = s.name().startsWith(CAUSAL_CHUNK) || s.name().startsWith(RECOMPUTE)
                    ? new Rectangle2D.Double(-3, -3, 6, 6) : new Ellipse2D.Double(-3, -3, 6, 6);
            renderer.setSeriesShape(i, shape);
            renderer.setSeriesStroke(i, s.name().startsWith(RECOMPUTE)
                    ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f)
                    : new BasicStroke(2f));
            i++;
        }
        final XYPlot plot = new XYPlot(dataset, null, rangeAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return plot;
    }
}
