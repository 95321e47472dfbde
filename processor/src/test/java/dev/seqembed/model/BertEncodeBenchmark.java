package dev.seqembed.model;

import dev.seqembed.testing.MiniLm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * One {@link BertModel#encode} (mean pooling + L2) of the real all-MiniLM-L6-v2, imported from the langchain4j jar,
 * at T tokens: the whole forward the kernels above add up to. Run with {@code mvn -B -Pjmh -pl processor -am verify}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class BertEncodeBenchmark {
    @Param({"128"})
    public int tokens;

    private BertModel model;
    private int[] ids;

    @Setup
    public void load() throws IOException {
        model = BertModel.load(MiniLm.importedDir());
        ids = MiniLm.tokens(tokens, tokens);
    }

    @Benchmark
    public float[] encode() {
        return model.encode(ids, Pooling.MEAN, true);
    }
}
