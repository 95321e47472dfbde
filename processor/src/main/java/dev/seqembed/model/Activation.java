package dev.seqembed.model;

/**
 * Hidden-layer activation. {@code gelu} is the exact erf form {@code 0.5 x (1 + erf(x / sqrt 2))}
 * as in PyTorch's default {@code nn.GELU()} and Hugging Face's {@code "gelu"}; approximations
 * ({@code gelu_new}, {@code gelu_fast}, ...) are deliberately not accepted, so a checkpoint that
 * needs one fails at load instead of silently giving different vectors.
 */
public enum Activation {
    GELU("gelu"), RELU("relu"), TANH("tanh");

    private final String configName;

    Activation(final String configName) {
        this.configName = configName;
    }

    /** The name used in {@code config.json}. */
    public String configName() {
        return configName;
    }

    /** Parses a {@code hidden_act} value: exactly {@code gelu}, {@code relu} or {@code tanh}. */
    public static Activation fromConfig(final String hiddenAct) {
        for (final Activation a : values()) {
            if (a.configName.equals(hiddenAct)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unsupported hidden_act '" + hiddenAct
                + "' (supported: gelu (erf form), relu, tanh)");
    }
}
