package dev.seqembed.bench;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The sections of the {@code bench --json} document as records, written by {@link Bench} and read by
 * {@link Report}: one definition of every field name (documented in {@link BenchSuite}). Field order is the
 * document's; {@code ms} fields are medians in milliseconds, FLOPs analytic.
 */
public final class BenchJson {

    /** Writes and reads the document; fields a reader does not know (newer sections) are skipped. */
    static final ObjectMapper MAPPER = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private BenchJson() {
    }

    /** The parts of a whole document that {@code report} plots. */
    public record Document(Environment environment, Models models, Sgemm sgemm, List<DenseRow> dense,
                           List<EncoderRow> encoder, List<CausalRow> causal) {
    }

    /** Kernel, threads, CPU and Java of the run. */
    @JsonPropertyOrder({"openblas_coretype", "openblas_coretype_source", "active_core", "native_threads",
            "omp_wait_policy", "blas_self_check", "cpu_model", "available_processors", "java_version", "java_vm",
            "os", "max_heap_mb", "quick", "started"})
    public record Environment(@JsonProperty("openblas_coretype") String openblasCoretype,
                              @JsonProperty("openblas_coretype_source") String openblasCoretypeSource,
                              @JsonProperty("active_core") String activeCore,
                              @JsonProperty("native_threads") String nativeThreads,
                              @JsonProperty("omp_wait_policy") String ompWaitPolicy,
                              @JsonProperty("blas_self_check") String blasSelfCheck,
                              @JsonProperty("cpu_model") String cpuModel,
                              @JsonProperty("available_processors") int availableProcessors,
                              @JsonProperty("java_version") String javaVersion,
                              @JsonProperty("java_vm") String javaVm,
                              String os,
                              @JsonProperty("max_heap_mb") long maxHeapMb,
                              boolean quick,
                              String started) {
    }

    /** The two models measured. */
    public record Models(DenseModel dense, AttentionModel attention) {
    }

    /** The dense window model's shape. */
    @JsonPropertyOrder({"id", "window", "stride", "embed_dim", "hidden", "output", "flops_per_window"})
    public record DenseModel(String id, Integer window, Integer stride, @JsonProperty("embed_dim") int embedDim,
                             int hidden, int output, @JsonProperty("flops_per_window") long flopsPerWindow) {
    }

    /** The attention model's shape. */
    @JsonPropertyOrder({"id", "layers", "hidden", "heads", "intermediate", "max_positions"})
    public record AttentionModel(String id, int layers, int hidden, int heads, int intermediate,
                                 @JsonProperty("max_positions") int maxPositions) {
    }

    /** Plain float sgemm m x n x k. */
    @JsonPropertyOrder({"m", "n", "k", "flops", "ms", "best_ms", "gflops", "gflops_best", "reps"})
    public record Sgemm(int m, int n, int k, long flops, double ms, @JsonProperty("best_ms") double bestMs,
                        double gflops, @JsonProperty("gflops_best") double gflopsBest, int reps) {
    }

    /** The dense model on one micro-batch of full windows; {@code ratio_to_sgemm} null without an sgemm figure. */
    @JsonPropertyOrder({"batch", "flops", "ms", "best_ms", "ms_per_window", "windows_per_s", "gflops",
            "ratio_to_sgemm", "reps"})
    public record DenseRow(int batch, long flops, double ms, @JsonProperty("best_ms") double bestMs,
                           @JsonProperty("ms_per_window") double msPerWindow,
                           @JsonProperty("windows_per_s") double windowsPerS, double gflops,
                           @JsonProperty("ratio_to_sgemm") Double ratioToSgemm, int reps) {
    }

    /** One bidirectional forward over a sequence of {@code length} tokens. */
    @JsonPropertyOrder({"length", "flops", "ms", "best_ms", "gflops", "flops_per_token", "reps"})
    public record EncoderRow(int length, long flops, double ms, @JsonProperty("best_ms") double bestMs,
                             double gflops, @JsonProperty("flops_per_token") long flopsPerToken, int reps) {
    }

    /**
     * {@code sequences} causal sequences with a cache of {@code prefix} tokens each, {@code chunks} more chunks of
     * {@code chunk} tokens each: one forward per chunk against all chunks in one packed forward (the causal
     * micro-batch; a sequence's chunks are one segment of it).
     */
    @JsonPropertyOrder({"sequences", "chunks", "prefix", "chunk", "one_by_one_ms", "batched_ms",
            "one_by_one_tokens_per_s", "batched_tokens_per_s", "speedup"})
    public record CausalBatchRow(int sequences, int chunks, int prefix, int chunk, @JsonProperty("one_by_one_ms") double oneByOneMs,
                                 @JsonProperty("batched_ms") double batchedMs,
                                 @JsonProperty("one_by_one_tokens_per_s") long oneByOneTokensPerS,
                                 @JsonProperty("batched_tokens_per_s") long batchedTokensPerS, double speedup) {
    }

    /** A chunk appended to a KV cache of {@code prefix} tokens, against recomputing prefix + chunk. */
    @JsonPropertyOrder({"prefix", "chunk", "cached_ms", "cached_best_ms", "recompute_ms", "recompute_best_ms",
            "flops_cached", "flops_recompute", "speedup", "cache_bytes"})
    public record CausalRow(int prefix, int chunk, @JsonProperty("cached_ms") double cachedMs,
                            @JsonProperty("cached_best_ms") double cachedBestMs,
                            @JsonProperty("recompute_ms") double recomputeMs,
                            @JsonProperty("recompute_best_ms") double recomputeBestMs,
                            @JsonProperty("flops_cached") long flopsCached,
                            @JsonProperty("flops_recompute") long flopsRecompute, double speedup,
                            @JsonProperty("cache_bytes") long cacheBytes) {
    }
}
