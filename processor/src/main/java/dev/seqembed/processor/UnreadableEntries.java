package dev.seqembed.processor;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.seqembed.engine.ErrorCode;
import dev.seqembed.state.StateEntries;

/**
 * The entries a processor could not decode when it read its stores whole at {@code init} (a corrupt changelog
 * record, restored). An exception there would fail the task, and under {@code SHUTDOWN_CLIENT} the client: one bad
 * entry would take its path down. Instead the processor goes on with the readable entries, and each unreadable one
 * is removed from its store (a tombstone in the changelog: it never comes back), goes to the dead-letter topic with
 * its raw bytes as {@link ErrorCode#PROCESSING_ERROR} (message: store, key, decoding error), is counted there by
 * reason and logged once. A per-sequence entry also closes its sequence ({@link ClosedSequences}): the sequence's
 * later chunks are dead-lettered, so it never yields an embedding of part of its tokens.
 *
 * <p>That happens at the processor's first record or punctuation ({@link #settle}), not in {@code init}: a
 * processor cannot forward from {@code init}, and doing both in one call puts the tombstone and the dead letter in
 * one transaction. A task closed before then leaves the entry in the store, to be found again.
 */
final class UnreadableEntries {

    private static final Logger LOG = LoggerFactory.getLogger(UnreadableEntries.class);

    /** One found at init: its dead letter, and what frees it. */
    private record Found(DeadLetter letter, Runnable free) {
    }

    private final List<Found> found = new ArrayList<>();

    /**
     * Reads a store whose keys are not sequences (a micro-batch's slots): {@code each} gets the readable entries in
     * key order; an unreadable one is dead-lettered with its store key as the key, and freed by {@code free}.
     */
    <V> void read(final StateEntries<byte[], V> store, final BiConsumer<byte[], V> each, final Consumer<byte[]> free) {
        for (final StateEntries.Unreadable<byte[]> u : store.forEach(each)) {
            found.add(new Found(letter(store, u.key(), HexFormat.of().formatHex(u.key()), u, ""),
                    () -> free.accept(u.key())));
        }
    }

    /**
     * Reads a store keyed by sequence id: {@code each} gets the readable entries in key order; an unreadable one is
     * dead-lettered with the sequence id as the key, and {@code close} frees it and closes its sequence.
     */
    <V> void readSequences(final StateEntries<String, V> store, final BiConsumer<String, V> each,
                           final Consumer<String> close) {
        for (final StateEntries.Unreadable<String> u : store.forEach(each)) {
            final String id = ClosedSequences.sequenceOf(u.key());
            final String keyText = "'" + u.key().replace("\u0000", "\\0") + "'";
            found.add(new Found(letter(store, id.getBytes(StandardCharsets.UTF_8), keyText, u,
                    "; sequence '" + id + "' closed"), () -> close.accept(id)));
        }
    }

    /**
     * Frees what {@link #read} found unreadable and forwards its dead letters to {@code child} (a
     * {@link DeadLetterWriter}). Call it first in {@code process} and in every punctuator.
     */
    void settle(final ProcessorContext<?, ?> context, final String child, final long timestamp) {
        while (!found.isEmpty()) {
            final Found f = found.remove(0);
            f.free().run();
            LOG.warn("{}, dead-lettered as {} (task {})", f.letter().message(), f.letter().reason(),
                    context.taskId());
            DeadLetterWriter.forward(context, child, null, f.letter(), timestamp);
        }
    }

    private static DeadLetter letter(final StateEntries<?, ?> store, final byte[] key, final String keyText,
                                     final StateEntries.Unreadable<?> u, final String closed) {
        final String message = "unreadable entry in store '" + store.name() + "' key " + keyText + " removed: "
                + ProcessingFailure.describe(u.error()) + closed;
        // No source record: topic, partition and offset as for a dead letter of a punctuation.
        return new DeadLetter(key, u.value(), ErrorCode.PROCESSING_ERROR, message, null, -1, -1);
    }
}
