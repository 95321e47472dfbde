package dev.seqembed.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.seqembed.config.SeqembedConfig;
import dev.seqembed.model.BertConfig;
import dev.seqembed.model.WindowMlpConfig;
import dev.seqembed.platform.BlasKernel;
import dev.seqembed.platform.NativeSetup;
import dev.seqembed.runtime.ModelDirs;
import dev.seqembed.topology.Models;

/**
 * {@code bench}, the performance harness (SPEC §8). Every ratio is measured in the same run, on the default
 * models: dense GEMM GFLOP/s against a plain large sgemm, causal chunk time with the KV cache against a full
 * recompute, end-to-end dense tokens/s against raw Kafka pass-through of the same records. Prints tables; {@code --json FILE} also writes the results. No JMH: warm-ups, repetitions up to a time budget,
 * medians ({@code ms}) and bests ({@code best_ms}). Numbers on a shared machine are noisy.
 *
 * <p>JSON document ({@code ms} = median milliseconds, FLOPs analytic as in SPEC §6):
 * <pre>
 * {
 *   "environment": {"openblas_coretype", "openblas_coretype_source", "active_core", "native_threads",
 *                   "omp_wait_policy", "blas_self_check", "cpu_model", "available_processors", "java_version",
 *                   "java_vm", "os", "max_heap_mb", "quick", "started"},
 *   "models":  {"dense": {"id", "window", "stride", "embed_dim", "hidden", "output", "flops_per_window"},
 *               "attention": {"id", "layers", "hidden", "heads", "intermediate", "max_positions"}},
 *   "sgemm":   {"m", "n", "k", "flops", "ms", "best_ms", "gflops", "gflops_best", "reps"},
 *   "dense":   [{"batch", "flops", "ms", "best_ms", "ms_per_window", "windows_per_s", "gflops",
 *                "ratio_to_sgemm", "reps"}],
 *   "encoder": [{"length", "flops", "ms", "best_ms", "gflops", "flops_per_token", "reps"}],
 *   "causal":  [{"prefix", "chunk", "cached_ms", "cached_best_ms", "recompute_ms", "recompute_best_ms",
 *                "flops_cached", "flops_recompute", "speedup", "cache_bytes"}],
 *   "causal_batch": [{"sequences", "chunks", "prefix", "chunk", "one_by_one_ms", "batched_ms",
 *                     "one_by_one_tokens_per_s", "batched_tokens_per_s", "speedup"}],
 *   "end_to_end": {"sequences", "tokens_per_sequence", "tokens", "passthrough_seconds",
 *                  "passthrough_tokens_per_s", "passthrough_records_per_s", "complete", "dense_embeddings",
 *                  "dense_seconds", "dense_tokens_per_s", "attention_seconds", "attention_tokens_per_s",
 *                  "dense_to_passthrough_ratio", "stream_threads", "processing_guarantee"}
 * }
 * </pre>
 * {@code causal}: a chunk of {@code chunk} tokens appended to a cache of {@code prefix} tokens
 * ({@code cached_ms}) vs one causal forward over all {@code prefix + chunk} tokens without a cache
 * ({@code recompute_ms}); both give the same embedding. {@code causal_batch}: 8 sequences with a cached prefix
 * get one chunk each, or one sequence gets 8 chunks ({@code chunks}), one forward per chunk ({@code one_by_one_ms})
 * against one packed forward ({@code batched_ms}), as the processor computes chunks that wait together. {@code end_to_end}: raw pass-through is produce +
 * read_committed consume of the TokenChunk records on a plain topic; the dense figure is the time from the first
 * send to the last dense embedding consumed (read_committed) with the whole topology running (attention mode
 * encoder, which shares the cores; its own completion time is {@code attention_seconds}).
 * {@code seqembed report --input FILE} plots it.
 */
public final class BenchSuite {

    private BenchSuite() {
    }

    /**
     * Runs every section in order, printing to {@code out}.
     *
     * @param quick the short run ({@link Bench.Sizes#quick()})
     * @param json where to write the results (null: nowhere); written after each group of sections
     * @param skipEndToEnd skip the Kafka end-to-end section
     */
    public static void run(final boolean quick, final Path json, final boolean skipEndToEnd, final PrintStream out)
            throws Exception {
        // The microbenchmarks use every core for native math (no stream threads share them here).
        NativeSetup.cacheDir();
        BlasKernel.ensureConfigured();
        final long t0 = System.nanoTime();
        final Bench bench = new Bench(quick ? Bench.Sizes.quick() : Bench.Sizes.full(), out);
        final ObjectNode root = Bench.JSON.createObjectNode();
        out.println("seqembed bench" + (quick ? " --quick" : "") + " (shared machines give noisy numbers: compare "
                + "ratios within one run)");
        root.set("environment", bench.environment(quick));
        final Path modelRoot = ModelDirs.defaultModels();
        final Models models = Models.load(modelRoot.resolve("dense"), modelRoot.resolve("attention"));
        root.set("models", models(models));
        final ObjectNode sgemm = bench.sgemm();
        root.set("sgemm", sgemm);
        writeIfAsked(json, root);
        final ArrayNode dense = bench.dense(models.dense(), sgemm.get("gflops").asDouble());
        root.set("dense", dense);
        root.set("encoder", bench.encoder(models.attention()));
        root.set("causal", bench.causal(models.attention()));
        root.set("causal_batch", bench.causalBatch(models.attention()));
        writeIfAsked(json, root);
        if (!skipEndToEnd) {
            root.set("end_to_end", bench.endToEnd(models));
        }
        root.put("seconds", Bench.round((System.nanoTime() - t0) / 1e9));
        writeIfAsked(json, root);
        out.printf("%nbench done in %.1f s%s%n", (System.nanoTime() - t0) / 1e9,
                json != null ? "; results in " + json : "");
    }

    /**
     * {@code bench --e2e}: the sustained-load end-to-end benchmark alone ({@link EndToEndLoad}), with native threads
     * sized as {@code run} sizes them.
     *
     * @param tokens input tokens of a full-speed run
     * @param settings processor settings layered over the defaults ({@code -D KEY=VALUE})
     */
    public static void runEndToEnd(final long tokens, final int warmUpSeconds, final Map<String, String> settings,
                                   final Path json, final PrintStream out) throws Exception {
        final SeqembedConfig config = SeqembedConfig.from(settings);
        NativeSetup.forProcessor(config);
        final long t0 = System.nanoTime();
        final Bench bench = new Bench(Bench.Sizes.quick(), out);
        final ObjectNode root = Bench.JSON.createObjectNode();
        out.println("seqembed bench --e2e (shared machines give noisy numbers: compare ratios within one run)");
        root.set("environment", bench.environment(false));
        final Path modelRoot = ModelDirs.defaultModels();
        final Models models = Models.load(modelRoot.resolve("dense"), modelRoot.resolve("attention"));
        root.set("models", models(models));
        writeIfAsked(json, root);
        root.set("e2e", new EndToEndLoad(EndToEndLoad.Sizes.of(tokens, warmUpSeconds), config, out).run(models));
        root.put("seconds", Bench.round((System.nanoTime() - t0) / 1e9));
        writeIfAsked(json, root);
        out.printf("%nbench --e2e done in %.1f s%s%n", (System.nanoTime() - t0) / 1e9,
                json != null ? "; results in " + json : "");
    }

    static ObjectNode models(final Models models) {
        final WindowMlpConfig d = models.dense().config();
        final BertConfig a = models.attention().config();
        return Bench.JSON.valueToTree(new BenchJson.Models(
                new BenchJson.DenseModel(models.dense().id(), d.window(), d.stride(), d.embedDim(), d.hiddenSize(),
                        d.outputSize(), d.flopsPerWindow()),
                new BenchJson.AttentionModel(models.attention().id(), a.numHiddenLayers(), a.hiddenSize(),
                        a.numAttentionHeads(), a.intermediateSize(), a.maxPositionEmbeddings())));
    }

    /** Written after each group of sections, so an interrupted run keeps what it measured. */
    private static void writeIfAsked(final Path json, final ObjectNode root) throws IOException {
        if (json != null) {
            Bench.JSON.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), root);
        }
    }
}
