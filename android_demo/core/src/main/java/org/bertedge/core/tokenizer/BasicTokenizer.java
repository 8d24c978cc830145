package org.bertedge.core.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * BERT's normalizer and pre-tokenizer, step for step as Hugging Face {@code tokenizers} runs
 * {@code BertNormalizer} then {@code BertPreTokenizer}:
 * <ol>
 *   <li>clean text: drop U+0000, U+FFFD and control/format/private-use code points (tab, LF
 *       and CR excepted); map whitespace to U+0020;</li>
 *   <li>put spaces around CJK ideographs;</li>
 *   <li>if stripping accents: NFD (with canonical reordering), then drop non-spacing marks;</li>
 *   <li>if lowercasing: lowercase code point by code point (locale-independent, like
 *       {@code String.toLowerCase(Locale.ROOT)} on each code point alone: no final-sigma rule);</li>
 *   <li>split on whitespace, and split off every punctuation code point (Unicode P* and all
 *       ASCII symbols such as {@code $ + < = > ^ ` | ~}) as a word of its own.</li>
 * </ol>
 * Everything works on code points, never UTF-16 units. The character classes come from
 * {@link UnicodeTables}, probed from the {@code tokenizers} library, so the result does not
 * depend on the platform's Unicode version. An unpaired surrogate (which Rust strings cannot
 * hold) is dropped like a control character.
 */
public final class BasicTokenizer {
    private final CharTables t = CharTables.get();
    private final boolean lowercase;
    private final boolean stripAccents;

    /** @param stripAccents null = same as {@code lowercase} (HF's default). */
    public BasicTokenizer(boolean lowercase, Boolean stripAccents) {
        this.lowercase = lowercase;
        this.stripAccents = stripAccents == null ? lowercase : stripAccents;
    }

    public boolean lowercase() {
        return lowercase;
    }

    public boolean stripAccents() {
        return stripAccents;
    }

    /** The normalized text, as {@code BertNormalizer.normalize_str} returns it. */
    public String normalize(String text) {
        CharTables.IntList cps = normalizeCodePoints(text);
        StringBuilder sb = new StringBuilder(cps.size() + 8);
        for (int i = 0; i < cps.size(); i++) {
            sb.appendCodePoint(cps.get(i));
        }
        return sb.toString();
    }

    CharTables.IntList normalizeCodePoints(String text) {
        int len = text.length();
        // 1 + 2: clean, CJK spacing
        CharTables.IntList a = new CharTables.IntList(len + 8);
        for (int i = 0; i < len; ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                continue; // unpaired surrogate
            }
            if (t.control.contains(cp)) {
                continue;
            }
            if (t.whitespace.contains(cp)) {
                a.add(' ');
            } else if (t.chinese.contains(cp)) {
                a.add(' ');
                a.add(cp);
                a.add(' ');
            } else {
                a.add(cp);
            }
        }
        // 3: NFD + canonical ordering, then drop non-spacing marks
        if (stripAccents) {
            CharTables.IntList d = new CharTables.IntList(a.size() + 8);
            for (int i = 0; i < a.size(); i++) {
                t.decompose(a.get(i), d);
            }
            canonicalOrder(d);
            a.clear();
            for (int i = 0; i < d.size(); i++) {
                int cp = d.get(i);
                if (!t.mark.contains(cp)) {
                    a.add(cp);
                }
            }
        }
        // 4: lowercase
        if (lowercase) {
            CharTables.IntList l = new CharTables.IntList(a.size() + 8);
            for (int i = 0; i < a.size(); i++) {
                int cp = a.get(i);
                int[] m = t.lower.get(cp);
                if (m == null) {
                    l.add(cp);
                } else {
                    l.addAll(m);
                }
            }
            a = l;
        }
        return a;
    }

    /** Stable sort of every run of non-starters by combining class (Unicode canonical ordering). */
    private void canonicalOrder(CharTables.IntList d) {
        int n = d.size();
        int i = 0;
        while (i < n) {
            if (t.combiningClass(d.get(i)) == 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < n && t.combiningClass(d.get(j)) != 0) {
                j++;
            }
            // insertion sort: runs are short, and it is stable
            for (int k = i + 1; k < j; k++) {
                int v = d.a[k];
                int cv = t.combiningClass(v);
                int m = k - 1;
                while (m >= i && t.combiningClass(d.a[m]) > cv) {
                    d.a[m + 1] = d.a[m];
                    m--;
                }
                d.a[m + 1] = v;
            }
            i = j;
        }
    }

    /** Normalize, then split into words (whitespace removed, punctuation isolated). */
    public List<String> tokenize(String text) {
        return preTokenize(normalizeCodePoints(text));
    }

    List<String> preTokenize(CharTables.IntList cps) {
        List<String> words = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < cps.size(); i++) {
            int cp = cps.get(i);
            if (t.split.contains(cp)) {
                flush(cur, words);
            } else if (t.punct.contains(cp)) {
                flush(cur, words);
                words.add(new String(Character.toChars(cp)));
            } else {
                cur.appendCodePoint(cp);
            }
        }
        flush(cur, words);
        return words;
    }

    private static void flush(StringBuilder cur, List<String> words) {
        if (cur.length() > 0) {
            words.add(cur.toString());
            cur.setLength(0);
        }
    }

    /** The {@code tokenizers} version the character tables were generated from. */
    public static String tablesVersion() {
        return CharTables.sourceVersion();
    }
}
