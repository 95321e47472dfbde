package dev.seqembed.serde;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.avro.WindowRecord;

/** The Avro serdes of seqembed's records (named apart from Kafka's {@code Serdes}, which sits beside it in imports). */
public final class RecordSerdes {

    private RecordSerdes() {
    }

    public static AvroSerde<TokenChunk> tokenChunk() {
        return new AvroSerde<>(TokenChunk.getEncoder(), TokenChunk.getDecoder());
    }

    public static AvroSerde<WindowRecord> windowRecord() {
        return new AvroSerde<>(WindowRecord.getEncoder(), WindowRecord.getDecoder());
    }

    public static AvroSerde<Embedding> embedding() {
        return new AvroSerde<>(Embedding.getEncoder(), Embedding.getDecoder());
    }
}
