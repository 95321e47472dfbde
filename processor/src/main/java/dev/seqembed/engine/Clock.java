package dev.seqembed.engine;

/** Wall-clock milliseconds; a seam so punctuator-driven code and tests agree on "now". */
@FunctionalInterface
public interface Clock {

    /** The system clock. */
    Clock SYSTEM = System::currentTimeMillis;

    long millis();
}
