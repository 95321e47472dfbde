package dev.seqembed.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The window arithmetic of SPEC §10.3 against a reference written the other way round. */
class AttentionWindowsTest {

    /**
     * Reference: windows start every {@code stride} tokens as long as a window from there would not reach the end;
     * then one more window ends exactly on the last token. (The class under test counts K first.)
     */
    private static List<AttentionWindows.Span> reference(final int n, final int p, final int stride) {
        final List<AttentionWindows.Span> out = new ArrayList<>();
        if (n <= p) {
            out.add(new AttentionWindows.Span(0, 0, n));
            return out;
        }
        int start = 0;
        while (start + p < n) {
            out.add(new AttentionWindows.Span(out.size(), start, p));
            start += stride;
        }
        out.add(new AttentionWindows.Span(out.size(), n - p, p));
        return out;
    }

    @ParameterizedTest(name = "P={0} stride={1}")
    @CsvSource({"512, 256", "512, 100", "512, 1", "512, 512", "64, 32", "7, 3"})
    void theFourLengthsOfTheSpecMatchTheReference(final int p, final int stride) {
        for (final int n : new int[] {p - 1, p, p + 1, 2 * p + stride + 1}) {
            assertThat(AttentionWindows.spans(n, p, stride)).as("n=%d", n).isEqualTo(reference(n, p, stride));
            assertThat(AttentionWindows.count(n, p, stride)).as("n=%d", n)
                    .isEqualTo(n <= p ? 1 : 1 + (int) Math.ceil((n - p) / (double) stride));
        }
    }

    @Test
    void everyLengthAndStrideOfASmallModelMatchesTheReferenceAndCoversEveryToken() {
        final int p = 8;
        for (int stride = 1; stride <= p; stride++) {
            for (int n = 1; n <= 60; n++) {
                final List<AttentionWindows.Span> spans = AttentionWindows.spans(n, p, stride);
                assertThat(spans).as("n=%d stride=%d", n, stride).isEqualTo(reference(n, p, stride));
                final boolean[] covered = new boolean[n];
                for (final AttentionWindows.Span s : spans) {
                    assertThat(s.end()).isLessThanOrEqualTo(n);
                    for (int i = s.start(); i < s.end(); i++) {
                        covered[i] = true;
                    }
                }
                for (int i = 0; i < n; i++) {
                    assertThat(covered[i]).as("token %d of n=%d stride=%d", i, n, stride).isTrue();
                }
                assertThat(spans.get(spans.size() - 1).end()).isEqualTo(n);
            }
        }
    }

    @Test
    void concreteCaseOfTheDefaultModel() {
        // P = 512, stride 256, n = 2P + stride + 1 = 1281: K = 1 + ceil(769 / 256) = 5
        assertThat(AttentionWindows.spans(1281, 512, 256)).extracting(AttentionWindows.Span::start)
                .containsExactly(0, 256, 512, 768, 769);
        assertThat(AttentionWindows.spans(513, 512, 256)).extracting(AttentionWindows.Span::start)
                .containsExactly(0, 1);
        assertThat(AttentionWindows.spans(512, 512, 256)).containsExactly(new AttentionWindows.Span(0, 0, 512));
    }

    @Test
    void aStrideOutsideOneToPIsRefused() {
        assertThatThrownBy(() -> AttentionWindows.spans(10, 8, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AttentionWindows.spans(10, 8, 9)).isInstanceOf(IllegalArgumentException.class);
    }
}
