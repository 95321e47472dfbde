package dev.seqembed.serde;

import dev.seqembed.avro.Embedding;
import dev.seqembed.avro.TokenChunk;
import dev.seqembed.avro.WindowRecord;

/** The serdes of seqembed's topics. */
public final class Serdes {

    private Serdes() {
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
