package org.bertedge.core.tokenizer;

import java.util.Arrays;

/**
 * The {@code NFD}, {@code NFKD}, {@code NFC} and {@code NFKC} normalizers, computed as the crate
 * behind them ({@code unicode-normalization-alignments} 0.1.12, Unicode 9 data) does: decompose
 * every code point, stable-sort each run of non-starters by combining class, then (for the C
 * forms) recompose with its streaming algorithm. The data are the probed {@link UnicodeTables},
 * not the platform's {@code java.text.Normalizer}, whose Unicode version differs. The change of
 * each output code point (for alignments) follows the crate too.
 */
final class UnicodeNormalizer implements Normalizer {
    private static final int S_BASE = 0xAC00;
    private static final int L_BASE = 0x1100;
    private static final int V_BASE = 0x1161;
    private static final int T_BASE = 0x11A7;
    private static final int L_COUNT = 19;
    private static final int V_COUNT = 21;
    private static final int T_COUNT = 28;
    private static final int S_COUNT = L_COUNT * V_COUNT * T_COUNT;

    private final boolean compat;
    private final boolean compose;
    private final CharTables tables = CharTables.get();
    private final PipelineTables pipeline = PipelineTables.get();

    private UnicodeNormalizer(boolean compat, boolean compose) {
        this.compat = compat;
        this.compose = compose;
    }

    /** {@code form}: NFD, NFKD, NFC or NFKC. */
    static UnicodeNormalizer of(String form) {
        switch (form) {
            case "NFD": return new UnicodeNormalizer(false, false);
            case "NFKD": return new UnicodeNormalizer(true, false);
            case "NFC": return new UnicodeNormalizer(false, true);
            case "NFKC": return new UnicodeNormalizer(true, true);
            default: throw new IllegalArgumentException("not a Unicode normal form: " + form);
        }
    }

    @Override
    public void normalize(NormalizedText t) {
        NormalizedText.Edits d = decompose(t);
        t.transform(compose ? recompose(d) : d, 0);
    }

    private NormalizedText.Edits decompose(NormalizedText t) {
        NormalizedText.Edits out = new NormalizedText.Edits(t.len + 8);
        CharTables.IntList one = new CharTables.IntList(8);
        for (int i = 0; i < t.len; i++) {
            int cp = t.cps[i];
            one.clear();
            int[] k = compat ? pipeline.kdecomp.get(cp) : null;
            if (k != null) {
                one.addAll(k);
            } else {
                tables.decompose(cp, one); // Hangul algorithmically, else NFD
            }
            for (int j = 0; j < one.size(); j++) {
                out.add(one.get(j), j == 0 ? 0 : 1);
            }
        }
        // stable sort of each run of non-starters by combining class (changes travel along)
        int i = 0;
        while (i < out.n) {
            if (tables.combiningClass(out.cps[i]) == 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < out.n && tables.combiningClass(out.cps[j]) != 0) {
                j++;
            }
            sortRun(out, i, j);
            i = j;
        }
        return out;
    }

    /** Insertion sort: stable, and runs of marks are short. */
    private void sortRun(NormalizedText.Edits e, int from, int to) {
        for (int i = from + 1; i < to; i++) {
            int c = e.cps[i];
            int ch = e.changes[i];
            int cls = tables.combiningClass(c);
            int j = i - 1;
            while (j >= from && tables.combiningClass(e.cps[j]) > cls) {
                e.cps[j + 1] = e.cps[j];
                e.changes[j + 1] = e.changes[j];
                j--;
            }
            e.cps[j + 1] = c;
            e.changes[j + 1] = ch;
        }
    }

    /** The crate's {@code Recompositions} iterator, as one loop. */
    private NormalizedText.Edits recompose(NormalizedText.Edits in) {
        NormalizedText.Edits out = new NormalizedText.Edits(in.n);
        int[] bufCp = new int[8];
        int[] bufCh = new int[8];
        int buf = 0;
        boolean hasComposee = false;
        int composee = 0;
        int composeeChange = 0;
        int lastCcc = -1; // -1: none
        for (int i = 0; i < in.n; i++) {
            int ch = in.cps[i];
            int change = in.changes[i];
            int cls = tables.combiningClass(ch);
            if (!hasComposee) {
                if (cls != 0) {
                    out.add(ch, change);
                    continue;
                }
                hasComposee = true;
                composee = ch;
                composeeChange = change;
                continue;
            }
            if (lastCcc < 0) {
                int r = composePair(composee, ch);
                if (r >= 0) {
                    composee = r;
                    composeeChange = composeeChange + change - 1;
                    continue;
                }
                if (cls == 0) {
                    out.add(composee, composeeChange);
                    composee = ch;
                    composeeChange = change;
                    continue;
                }
            } else {
                if (lastCcc >= cls) {
                    if (cls == 0) {
                        out.add(composee, composeeChange);
                        for (int b = 0; b < buf; b++) {
                            out.add(bufCp[b], bufCh[b]);
                        }
                        buf = 0;
                        composee = ch;
                        composeeChange = change;
                        lastCcc = -1;
                        continue;
                    }
                } else {
                    int r = composePair(composee, ch);
                    if (r >= 0) {
                        composee = r;
                        composeeChange = composeeChange + change - 1;
                        continue;
                    }
                }
            }
            if (buf == bufCp.length) {
                bufCp = Arrays.copyOf(bufCp, buf * 2);
                bufCh = Arrays.copyOf(bufCh, buf * 2);
            }
            bufCp[buf] = ch;
            bufCh[buf++] = change;
            lastCcc = cls;
        }
        if (hasComposee) {
            out.add(composee, composeeChange);
        }
        for (int b = 0; b < buf; b++) {
            out.add(bufCp[b], bufCh[b]);
        }
        return out;
    }

    /** The primary composite of {@code a b}, or -1 (Hangul LV / LVT algorithmically). */
    private int composePair(int a, int b) {
        if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT) {
            return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
        }
        if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE && b < T_BASE + T_COUNT) {
            return a + (b - T_BASE);
        }
        Integer r = pipeline.compose.get(PipelineTables.pairKey(a, b));
        return r == null ? -1 : r;
    }
}
