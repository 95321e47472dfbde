package dev.seqembed.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

import dev.seqembed.avro.WindowRecord;
import dev.seqembed.serde.AvroSerde;
import dev.seqembed.serde.RecordSerdes;

/**
 * A window waiting in the dense micro-batch, with the timestamp of the record that carried it.
 *
 * @param window the window
 * @param timestampMs the input record's timestamp (output records keep it)
 */
public record BufferedWindow(WindowRecord window, long timestampMs) {

    private static final AvroSerde<WindowRecord> AVRO = RecordSerdes.windowRecord();

    public static final StateSerde<BufferedWindow> SERDE = new StateSerde<>(1, BufferedWindow::write,
            BufferedWindow::read);

    private static ByteBuffer write(final BufferedWindow w) {
        final byte[] avro = AVRO.encode(w.window);
        return StateSerde.allocate(8 + avro.length).putLong(w.timestampMs).put(avro).flip();
    }

    private static BufferedWindow read(final ByteBuffer buf) {
        final long ts = buf.getLong();
        final byte[] avro = new byte[buf.remaining()];
        buf.get(avro);
        try {
            return new BufferedWindow(AVRO.decode(avro), ts);
        } catch (final IOException e) {
            throw new UncheckedIOException("unreadable buffered window", e);
        }
    }
}
