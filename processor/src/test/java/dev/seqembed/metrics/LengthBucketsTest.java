package dev.seqembed.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LengthBucketsTest {

    @Test
    void boundsAreInclusiveAndLongerSequencesOverflow() {
        assertThat(LengthBuckets.upperBounds()).containsExactly(32, 64, 128, 256, 512);
        assertThat(LengthBuckets.label(1)).isEqualTo("le32");
        assertThat(LengthBuckets.label(32)).isEqualTo("le32");
        assertThat(LengthBuckets.label(33)).isEqualTo("le64");
        assertThat(LengthBuckets.label(512)).isEqualTo("le512");
        assertThat(LengthBuckets.label(513)).isEqualTo("gt512");
        assertThat(LengthBuckets.upperBoundOf(100)).isEqualTo(128);
        assertThat(LengthBuckets.indexOf(32)).isZero();
        assertThat(LengthBuckets.indexOf(513)).isEqualTo(LengthBuckets.upperBounds().length);
        assertThat(LengthBuckets.upperBoundOf(513)).isEqualTo(Integer.MAX_VALUE);
    }
}
