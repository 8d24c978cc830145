package org.bertedge.core.tokenizer;

/**
 * Extended grapheme clusters (UAX #29) as the {@code unicode-segmentation} crate finds them for
 * {@code graphemes(true)}: the Precompiled normalizer looks up whole clusters, so where a cluster
 * ends changes the text. Properties come from {@link UnicodeTables} (the crate's Unicode
 * version), never from the platform's {@code BreakIterator}.
 */
final class Graphemes {
    static final int CR = 1;
    static final int LF = 2;
    static final int CONTROL = 3;
    static final int EXTEND = 4;
    static final int ZWJ = 5;
    static final int RI = 6;
    static final int PREPEND = 7;
    static final int SPACING_MARK = 8;
    static final int L = 9;
    static final int V = 10;
    static final int T = 11;
    static final int LV = 12;
    static final int LVT = 13;

    private Graphemes() {}

    /**
     * The end index of every cluster of {@code cps[0, n)}, in order (the last one is n; none for
     * an empty text).
     */
    static int[] ends(int[] cps, int n) {
        PipelineTables t = PipelineTables.get();
        int[] out = new int[n];
        int k = 0;
        int emoji = 0; // 1: ExtPict Extend*, 2: ExtPict Extend* ZWJ (rule GB11)
        int ri = 0;    // regional indicators in a row (GB12, GB13)
        int incb = 0;  // 1: InCB Consonant [Extend|Linker]*, 2: ... with a Linker (GB9c)
        int prev = 0;
        for (int i = 0; i < n; i++) {
            int c = cps[i];
            int g = t.gcb(c);
            if (i > 0 && isBreak(prev, g, c, t, emoji, ri, incb)) {
                out[k++] = i;
            }
            if (t.extPict.contains(c)) {
                emoji = 1;
            } else if (emoji == 1 && g == EXTEND) {
                emoji = 1;
            } else if (emoji == 1 && g == ZWJ) {
                emoji = 2;
            } else {
                emoji = 0;
            }
            ri = g == RI ? ri + 1 : 0;
            if (t.incbConsonant.contains(c)) {
                incb = 1;
            } else if (incb > 0 && t.incbLinker.contains(c)) {
                incb = 2;
            } else if (incb > 0 && t.incbExtend.contains(c)) {
                // stays
            } else {
                incb = 0;
            }
            prev = g;
        }
        if (n > 0) {
            out[k++] = n;
        }
        return java.util.Arrays.copyOf(out, k);
    }

    private static boolean isBreak(int p, int g, int c, PipelineTables t, int emoji, int ri, int incb) {
        if (p == CR && g == LF) return false;                                    // GB3
        if (p == CR || p == LF || p == CONTROL) return true;                     // GB4
        if (g == CR || g == LF || g == CONTROL) return true;                     // GB5
        if (p == L && (g == L || g == V || g == LV || g == LVT)) return false;   // GB6
        if ((p == LV || p == V) && (g == V || g == T)) return false;             // GB7
        if ((p == LVT || p == T) && g == T) return false;                        // GB8
        if (g == EXTEND || g == ZWJ || g == SPACING_MARK) return false;          // GB9, GB9a
        if (p == PREPEND) return false;                                          // GB9b
        if (incb == 2 && t.incbConsonant.contains(c)) return false;              // GB9c
        if (p == ZWJ && emoji == 2 && t.extPict.contains(c)) return false;       // GB11
        return !(p == RI && g == RI && ri % 2 == 1);                             // GB12, GB13, GB999
    }
}
