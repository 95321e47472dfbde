package dev.seqembed.app;

/** Entry point placeholder. */
public final class Main {
    private Main() {
    }

    public static void main(final String[] args) {
        System.out.println("seqembed");
    }
}
