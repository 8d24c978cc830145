package org.bertedge.core.tokenizer;

import java.util.Arrays;

/**
 * A piece of text on its way through the tokenizer.json pipeline: its code points, and for each
 * the start of the original span it was made from, as Hugging Face's {@code NormalizedString}
 * tracks alignments. Ids never depend on alignments except in one place: Metaspace's
 * {@code prepend_scheme: "first"} prepends only to the piece that starts at original offset 0,
 * and that offset is what normalizers, slicing and added tokens make of the alignments. So every
 * edit goes through {@link #transform}, a port of {@code NormalizedString::transform_range}, and
 * takes the same (code point, change) steps the Rust normalizers produce. Offsets count code
 * points, not UTF-8 bytes: only "is it 0" is ever asked of them.
 */
final class NormalizedText {
    int[] cps;
    int len;
    /** Per code point: start of its original span, relative to {@link #shift}. */
    int[] align;
    /** Original offset of this piece in the input ({@code offsets_original().0}). */
    final int shift;

    NormalizedText(int[] cps, int len, int[] align, int shift) {
        this.cps = cps;
        this.len = len;
        this.align = align;
        this.shift = shift;
    }

    /**
     * The input text as code points. Unpaired surrogates (which a Rust string cannot hold, so HF
     * never sees them) are dropped.
     */
    static NormalizedText of(String text) {
        int[] cps = new int[text.length()];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 0xD800 || cp > 0xDFFF) {
                cps[n++] = cp;
            }
        }
        int[] align = new int[n];
        for (int i = 0; i < n; i++) {
            align[i] = i;
        }
        return new NormalizedText(cps, n, align, 0);
    }

    boolean isEmpty() {
        return len == 0;
    }

    int get(int i) {
        return cps[i];
    }

    /** {@code slice(Range::Normalized(start..end))}: alignments become relative to the slice. */
    NormalizedText slice(int start, int end) {
        int base = start < end ? align[start] : start;
        int[] c = Arrays.copyOfRange(cps, start, end);
        int[] a = new int[end - start];
        for (int i = 0; i < a.length; i++) {
            a[i] = align[start + i] - base;
        }
        return new NormalizedText(c, c.length, a, shift + base);
    }

    /**
     * Replace code points {@code [start, end)} by {@code n} new ones, each with its change:
     * {@code 1} inserted (aligned like the code point before it), {@code 0} replaces the next old
     * code point, {@code -k} replaces it and removes the k after it. {@code initialOffset} old
     * code points at {@code start} are removed before the first new one.
     */
    void transformRange(int start, int end, int[] newCps, int[] changes, int n, int initialOffset) {
        int[] newAlign = new int[n];
        int offset = start + initialOffset;
        for (int k = 0; k < n; k++) {
            int change = changes[k];
            if (change > 0) {
                newAlign[k] = offset < 1 ? 0 : align[offset - 1];
            } else {
                newAlign[k] = offset < len ? align[offset] : (len > 0 ? align[len - 1] : 0);
                offset++;
                if (change < 0) {
                    offset -= change;
                }
            }
        }
        int tail = len - end;
        int newLen = start + n + tail;
        int[] c = new int[newLen];
        int[] a = new int[newLen];
        System.arraycopy(cps, 0, c, 0, start);
        System.arraycopy(align, 0, a, 0, start);
        System.arraycopy(newCps, 0, c, start, n);
        System.arraycopy(newAlign, 0, a, start, n);
        System.arraycopy(cps, end, c, start + n, tail);
        System.arraycopy(align, end, a, start + n, tail);
        cps = c;
        align = a;
        len = newLen;
    }

    /** {@link #transformRange} over the whole text ({@code NormalizedString::transform}). */
    void transform(Edits e, int initialOffset) {
        transformRange(0, len, e.cps, e.changes, e.n, initialOffset);
    }

    /** {@code NormalizedString::prepend}: nothing on an empty text. */
    void prepend(int[] s) {
        if (len == 0 || s.length == 0) {
            return;
        }
        Edits e = new Edits(s.length + 1);
        for (int i = 0; i < s.length; i++) {
            e.add(s[i], i == 0 ? 0 : 1);
        }
        e.add(cps[0], 1);
        transformRange(0, 1, e.cps, e.changes, e.n, 0);
    }

    /**
     * {@code NormalizedString::replace} for matches {@code [starts[i], ends[i])}: each match
     * becomes {@code content}, every new code point aligned like the last one it replaces.
     */
    void replaceMatches(int[] starts, int[] ends, int count, int[] content) {
        if (count == 0) {
            return;
        }
        int newLen = len;
        for (int i = 0; i < count; i++) {
            newLen += content.length - (ends[i] - starts[i]);
        }
        int[] c = new int[newLen];
        int[] a = new int[newLen];
        int k = 0;
        int last = 0;
        for (int i = 0; i < count; i++) {
            for (int j = last; j < starts[i]; j++) {
                c[k] = cps[j];
                a[k++] = align[j];
            }
            int al = ends[i] >= 1 ? align[ends[i] - 1] : 0;
            for (int x : content) {
                c[k] = x;
                a[k++] = al;
            }
            last = ends[i];
        }
        for (int j = last; j < len; j++) {
            c[k] = cps[j];
            a[k++] = align[j];
        }
        cps = c;
        align = a;
        len = newLen;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(len + 8);
        for (int i = 0; i < len; i++) {
            sb.appendCodePoint(cps[i]);
        }
        return sb.toString();
    }

    /** A growable list of (code point, change) steps for {@link #transform}. */
    static final class Edits {
        int[] cps;
        int[] changes;
        int n;

        Edits(int capacity) {
            cps = new int[Math.max(4, capacity)];
            changes = new int[cps.length];
        }

        void add(int cp, int change) {
            if (n == cps.length) {
                cps = Arrays.copyOf(cps, n * 2);
                changes = Arrays.copyOf(changes, n * 2);
            }
            cps[n] = cp;
            changes[n++] = change;
        }
    }
}
