package org.bertedge.core.tokenizer;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The parsed {@link UnicodeTables}: code point sets as sorted ranges (binary search) with a
 * bitmap for the BMP, and code point maps. Immutable; built once, shared by all tokenizers.
 */
final class CharTables {
    static final int HANGUL_S_BASE = 0xAC00;
    private static final int L_BASE = 0x1100;
    private static final int V_BASE = 0x1161;
    private static final int T_BASE = 0x11A7;
    private static final int T_COUNT = 28;
    private static final int N_COUNT = 21 * T_COUNT;
    static final int HANGUL_S_COUNT = 19 * N_COUNT;

    private static volatile CharTables instance;

    final CpSet control;
    final CpSet whitespace;
    final CpSet chinese;
    final CpSet mark;
    final CpSet punct;
    final CpSet split;
    final Map<Integer, int[]> decomp;
    final Map<Integer, int[]> lower;
    final Map<Integer, Integer> ccc;

    private CharTables() {
        control = CpSet.parse(join(UnicodeTables.CONTROL));
        whitespace = CpSet.parse(join(UnicodeTables.WHITESPACE));
        chinese = CpSet.parse(join(UnicodeTables.CHINESE));
        mark = CpSet.parse(join(UnicodeTables.MARK));
        punct = CpSet.parse(join(UnicodeTables.PUNCT));
        split = CpSet.parse(join(UnicodeTables.SPLIT));
        decomp = parseMap(join(UnicodeTables.DECOMP));
        lower = parseMap(join(UnicodeTables.LOWER));
        ccc = new HashMap<>();
        for (Map.Entry<Integer, int[]> e : parseMap(join(UnicodeTables.CCC)).entrySet()) {
            ccc.put(e.getKey(), e.getValue()[0]);
        }
    }

    static CharTables get() {
        CharTables t = instance;
        if (t == null) {
            synchronized (CharTables.class) {
                t = instance;
                if (t == null) {
                    t = new CharTables();
                    instance = t;
                }
            }
        }
        return t;
    }

    /** The tokenizers version the tables were probed from. */
    static String sourceVersion() {
        return UnicodeTables.TOKENIZERS_VERSION;
    }

    int combiningClass(int cp) {
        Integer c = ccc.get(cp);
        return c == null ? 0 : c;
    }

    /** Appends the canonical decomposition of {@code cp} (NFD of one code point). */
    void decompose(int cp, IntList out) {
        int s = cp - HANGUL_S_BASE;
        if (s >= 0 && s < HANGUL_S_COUNT) {
            out.add(L_BASE + s / N_COUNT);
            out.add(V_BASE + (s % N_COUNT) / T_COUNT);
            int t = s % T_COUNT;
            if (t != 0) {
                out.add(T_BASE + t);
            }
            return;
        }
        int[] d = decomp.get(cp);
        if (d == null) {
            out.add(cp);
        } else {
            out.addAll(d);
        }
    }

    static String join(String[] parts) {
        if (parts.length == 1) {
            return parts[0];
        }
        StringBuilder sb = new StringBuilder();
        for (String p : parts) {
            sb.append(p);
        }
        return sb.toString();
    }

    static Map<Integer, int[]> parseMap(String s) {
        Map<Integer, int[]> m = new HashMap<>();
        if (s.isEmpty()) {
            return m;
        }
        for (String entry : s.split(",")) {
            int colon = entry.indexOf(':');
            int key = Integer.parseInt(entry.substring(0, colon), 16);
            String[] vs = entry.substring(colon + 1).split(" ");
            int[] v = new int[vs.length];
            for (int i = 0; i < vs.length; i++) {
                v[i] = Integer.parseInt(vs[i], 16);
            }
            m.put(key, v);
        }
        return m;
    }

    /** A set of code points: a bitmap for U+0000..U+FFFF, sorted ranges above. */
    static final class CpSet {
        private final long[] bmp = new long[1024];
        private final int[] starts;
        private final int[] ends;

        private CpSet(int[] starts, int[] ends) {
            int n = 0;
            for (int i = 0; i < starts.length; i++) {
                for (int c = starts[i]; c <= Math.min(ends[i], 0xFFFF); c++) {
                    bmp[c >>> 6] |= 1L << (c & 63);
                }
                if (ends[i] > 0xFFFF) {
                    n++;
                }
            }
            this.starts = new int[n];
            this.ends = new int[n];
            int k = 0;
            for (int i = 0; i < starts.length; i++) {
                if (ends[i] > 0xFFFF) {
                    this.starts[k] = Math.max(starts[i], 0x10000);
                    this.ends[k] = ends[i];
                    k++;
                }
            }
        }

        static CpSet parse(String s) {
            if (s.isEmpty()) {
                return new CpSet(new int[0], new int[0]);
            }
            String[] items = s.split(",");
            int[] st = new int[items.length];
            int[] en = new int[items.length];
            for (int i = 0; i < items.length; i++) {
                int dash = items[i].indexOf('-');
                if (dash < 0) {
                    st[i] = en[i] = Integer.parseInt(items[i], 16);
                } else {
                    st[i] = Integer.parseInt(items[i].substring(0, dash), 16);
                    en[i] = Integer.parseInt(items[i].substring(dash + 1), 16);
                }
                if (i > 0 && st[i] <= en[i - 1]) {
                    throw new IllegalStateException("unsorted table near " + items[i]);
                }
            }
            return new CpSet(st, en);
        }

        boolean contains(int cp) {
            if (cp <= 0xFFFF) {
                return cp >= 0 && (bmp[cp >>> 6] & (1L << (cp & 63))) != 0;
            }
            int i = Arrays.binarySearch(starts, cp);
            if (i >= 0) {
                return true;
            }
            i = -i - 2; // last range starting below cp
            return i >= 0 && cp <= ends[i];
        }
    }

    /** Growable int array (avoids boxing in the hot path). */
    static final class IntList {
        int[] a;
        int n;

        IntList(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, a.length * 2);
            }
            a[n++] = v;
        }

        void addAll(int[] vs) {
            for (int v : vs) {
                add(v);
            }
        }

        int get(int i) {
            return a[i];
        }

        int size() {
            return n;
        }

        void clear() {
            n = 0;
        }
    }
}
