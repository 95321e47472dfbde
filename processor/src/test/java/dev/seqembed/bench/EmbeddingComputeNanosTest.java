package dev.seqembed.bench;

import java.io.IOException;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.seqembed.avro.ComputeMetrics;
import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.EmbeddingPath;
import dev.seqembed.avro.ModelRef;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.engine.Vectors;
import dev.seqembed.serde.RecordSerdes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddingComputeNanosTest {

    @Test
    void readsComputeNanosPastTheVector() throws IOException {
        final EmbeddingComputeNanos reader = new EmbeddingComputeNanos();
        for (final long nanos : new long[] {0, 12_345, Long.MAX_VALUE}) {
            final float[] vector = new float[256];
            vector[255] = 1f;
            final Embedding e = Embedding.newBuilder().setSequenceId("s-1").setPath(EmbeddingPath.DENSE).setIndex(2)
                    .setStart(16).setLength(16).setFinal$(true).setVector(Vectors.toList(vector))
                    .setModel(new ModelRef("dense", "ab"))
                    .setMetrics(ComputeMetrics.newBuilder().setFlops(7).setComputeNanos(nanos).setBatchSize(3)
                            .setBatchTokens(40).setPaddedTokens(8).setSequenceLength(32).setStateBytes(0)
                            .setQueueMillis(1).setEndToEndMillis(2).setCacheHitTokens(0).build())
                    .build();
            assertThat(reader.of(RecordSerdes.embedding().encode(e))).isEqualTo(nanos);
        }
    }

    @Test
    void refusesOtherRecords() {
        final byte[] chunk = RecordSerdes.tokenChunk().encode(new TokenChunk("s", 0, java.util.List.of(1), true,
                Map.of()));
        assertThatThrownBy(() -> new EmbeddingComputeNanos().of(chunk)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> new EmbeddingComputeNanos().of(new byte[] {1, 2})).isInstanceOf(IOException.class);
    }
}
