package org.bertedge.core;

import java.util.Arrays;

import org.bertedge.core.tokenizer.Encoding;

/**
 * Real-length inference: the app feeds a sentence at its own length, not padded to
 * max_seq_length. The same rule as the converters ({@code converters/real_length.py}): keep the
 * positions up to the last real token, plus {@code trailingContext} more (padded positions the
 * float model itself reads: one for MobileBERT's trigram embedding, none for BERT), at most the
 * encoding's length.
 */
public final class RealLength {
    private RealLength() {
    }

    /** How many leading positions to feed for this attention mask. */
    public static int keep(int[] attentionMask, int trailingContext) {
        if (trailingContext < 0) {
            throw new IllegalArgumentException("trailingContext must be >= 0, got " + trailingContext);
        }
        int last = 0;
        for (int i = 0; i < attentionMask.length; i++) {
            if (attentionMask[i] != 0) {
                last = i + 1;
            }
        }
        return Math.min(Math.max(last, 1) + trailingContext, attentionMask.length);
    }

    /** The encoding cut to {@link #keep} positions (the same object if nothing is cut). */
    public static Encoding cut(Encoding e, int trailingContext) {
        int n = keep(e.attentionMask, trailingContext);
        if (n == e.inputIds.length) {
            return e;
        }
        return new Encoding(Arrays.copyOf(e.inputIds, n), Arrays.copyOf(e.attentionMask, n),
                Arrays.copyOf(e.tokenTypeIds, n), e.length, e.truncated);
    }
}
