package org.bertedge.core.tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@link UnicodeTables} of the tokenizer.json pipeline (ByteLevel regex classes, Unicode
 * normal forms, Strip/StripAccents/WhitespaceSplit, grapheme clusters), parsed on first use so
 * that WordPiece-only apps never pay for them. Immutable, shared.
 */
final class PipelineTables {
    private static volatile PipelineTables instance;

    final CharTables.CpSet blLetter;
    final CharTables.CpSet blNumber;
    final CharTables.CpSet blSpace;
    final CharTables.CpSet whiteSpace;
    final CharTables.CpSet word;
    final CharTables.CpSet combining;
    final CharTables.CpSet extPict;
    final CharTables.CpSet incbConsonant;
    final CharTables.CpSet incbLinker;
    final CharTables.CpSet incbExtend;
    final Map<Integer, int[]> kdecomp;
    /** (first << 21 | second) → primary composite. */
    final Map<Long, Integer> compose;
    private final byte[] gcbBmp = new byte[0x10000];
    private final int[] gcbStarts;
    private final int[] gcbEnds;
    private final byte[] gcbValues;

    private PipelineTables() {
        blLetter = set(UnicodeTables.BL_LETTER);
        blNumber = set(UnicodeTables.BL_NUMBER);
        blSpace = set(UnicodeTables.BL_SPACE);
        whiteSpace = set(UnicodeTables.WHITE_SPACE);
        word = set(UnicodeTables.WORD);
        combining = set(UnicodeTables.COMBINING);
        extPict = set(UnicodeTables.EXT_PICT);
        incbConsonant = set(UnicodeTables.INCB_CONSONANT);
        incbLinker = set(UnicodeTables.INCB_LINKER);
        incbExtend = set(UnicodeTables.INCB_EXTEND);
        kdecomp = CharTables.parseMap(CharTables.join(UnicodeTables.KDECOMP));
        compose = new HashMap<>();
        for (Map.Entry<Integer, int[]> e : CharTables.parseMap(CharTables.join(UnicodeTables.COMPOSE)).entrySet()) {
            compose.put(pairKey(e.getValue()[0], e.getValue()[1]), e.getKey());
        }
        // "a-b:v" runs; the BMP goes into a flat array, the rest is binary-searched
        String[] items = CharTables.join(UnicodeTables.GCB).split(",");
        int[] st = new int[items.length];
        int[] en = new int[items.length];
        byte[] va = new byte[items.length];
        int n = 0;
        for (String item : items) {
            int colon = item.indexOf(':');
            String range = item.substring(0, colon);
            int dash = range.indexOf('-');
            int a = Integer.parseInt(dash < 0 ? range : range.substring(0, dash), 16);
            int b = dash < 0 ? a : Integer.parseInt(range.substring(dash + 1), 16);
            byte v = (byte) Integer.parseInt(item.substring(colon + 1), 16);
            for (int c = a; c <= Math.min(b, 0xFFFF); c++) {
                gcbBmp[c] = v;
            }
            if (b > 0xFFFF) {
                st[n] = Math.max(a, 0x10000);
                en[n] = b;
                va[n] = v;
                n++;
            }
        }
        gcbStarts = Arrays.copyOf(st, n);
        gcbEnds = Arrays.copyOf(en, n);
        gcbValues = Arrays.copyOf(va, n);
    }

    static PipelineTables get() {
        PipelineTables t = instance;
        if (t == null) {
            synchronized (PipelineTables.class) {
                t = instance;
                if (t == null) {
                    t = new PipelineTables();
                    instance = t;
                }
            }
        }
        return t;
    }

    static long pairKey(int a, int b) {
        return ((long) a << 21) | b;
    }

    /** Grapheme_Cluster_Break code of {@code cp} (see {@link Graphemes}). */
    int gcb(int cp) {
        if (cp <= 0xFFFF) {
            return cp < 0 ? 0 : gcbBmp[cp];
        }
        int i = Arrays.binarySearch(gcbStarts, cp);
        if (i < 0) {
            i = -i - 2;
        }
        return i >= 0 && cp <= gcbEnds[i] ? gcbValues[i] : 0;
    }

    private static CharTables.CpSet set(String[] parts) {
        return CharTables.CpSet.parse(CharTables.join(parts));
    }
}
