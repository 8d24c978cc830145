package org.bertedge.core.tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code added_tokens} of a tokenizer.json ({@code <s>}, {@code <mask>}, ...), found in the
 * text the way HF's {@code AddedVocabulary} finds them: first the tokens with
 * {@code normalized: false} in the raw text, then, in each remaining piece after normalization,
 * the {@code normalized: true} ones (matching their normalized form). Matching is leftmost-longest
 * and non-overlapping; then {@code single_word} drops a match inside a word (Rust regex \w),
 * {@code lstrip}/{@code rstrip} widen it over neighbouring whitespace. A found token gives its id
 * and is neither normalized nor split further.
 */
final class AddedTokens {
    /** One entry of {@code added_tokens}. */
    static final class Token {
        final int id;
        final String content;
        final boolean singleWord;
        final boolean lstrip;
        final boolean rstrip;
        final boolean normalized;
        final boolean special;

        Token(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized,
              boolean special) {
            this.id = id;
            this.content = content;
            this.singleWord = singleWord;
            this.lstrip = lstrip;
            this.rstrip = rstrip;
            this.normalized = normalized;
            this.special = special;
        }
    }

    /** A piece of the text: either an added token (id >= 0) or text still to tokenize. */
    static final class Piece {
        final int id;
        final NormalizedText text;

        Piece(int id, NormalizedText text) {
            this.id = id;
            this.text = text;
        }
    }

    /** Patterns of one pass, by first code point, longest first. */
    private static final class Matcher {
        final Map<Integer, List<int[]>> byFirst = new HashMap<>();
        final Map<int[], Token> token = new HashMap<>();

        void add(int[] pattern, Token t) {
            if (pattern.length == 0) {
                return;
            }
            List<int[]> l = byFirst.computeIfAbsent(pattern[0], k -> new ArrayList<>());
            for (int i = 0; i < l.size(); i++) {
                if (java.util.Arrays.equals(l.get(i), pattern)) {
                    token.remove(l.remove(i)); // the same content twice: the later entry wins
                    break;
                }
            }
            l.add(pattern);
            l.sort((x, y) -> y.length - x.length);
            token.put(pattern, t);
        }

        boolean isEmpty() {
            return byFirst.isEmpty();
        }
    }

    private final List<Token> tokens;
    private final Matcher raw = new Matcher();
    private final Matcher normalized = new Matcher();
    private final PipelineTables tables = PipelineTables.get();

    /** @param normalizer the tokenizer's normalizer (null if none): normalized tokens match its output */
    AddedTokens(List<Token> tokens, Normalizer normalizer) {
        this.tokens = Collections.unmodifiableList(new ArrayList<>(tokens));
        for (Token t : tokens) {
            if (t.normalized) {
                NormalizedText n = NormalizedText.of(t.content);
                if (normalizer != null) {
                    normalizer.normalize(n);
                }
                normalized.add(java.util.Arrays.copyOf(n.cps, n.len), t);
            } else {
                raw.add(t.content.codePoints().toArray(), t);
            }
        }
    }

    List<Token> tokens() {
        return tokens;
    }

    /** Id of an added token's content, or -1. */
    int id(String content) {
        int id = -1;
        for (Token t : tokens) {
            if (t.content.equals(content)) {
                id = t.id;
            }
        }
        return id;
    }

    /** Step 1: tokens with normalized=false, in the raw text. */
    void splitRaw(NormalizedText text, List<Piece> out) {
        split(text, raw, out);
    }

    /** Step 2: tokens with normalized=true, in an already normalized piece. */
    void splitNormalized(NormalizedText text, List<Piece> out) {
        split(text, normalized, out);
    }

    /** {@code AddedVocabulary::find_matches} + {@code split_with_indices}; empty pieces dropped. */
    private void split(NormalizedText text, Matcher m, List<Piece> out) {
        if (text.len == 0) {
            return;
        }
        if (m.isEmpty()) {
            out.add(new Piece(-1, text.slice(0, text.len)));
            return;
        }
        int[] s = text.cps;
        int n = text.len;
        int startOffset = 0;
        int pos = 0;
        while (pos < n) {
            // leftmost-longest: the first position where some pattern starts, its longest pattern
            int mStart = -1;
            int[] best = null;
            for (int i = pos; i < n && best == null; i++) {
                List<int[]> cands = m.byFirst.get(s[i]);
                if (cands == null) {
                    continue;
                }
                for (int[] p : cands) {
                    if (i + p.length <= n && startsWith(s, i, p)) {
                        mStart = i;
                        best = p;
                        break;
                    }
                }
            }
            if (best == null) {
                break;
            }
            Token t = m.token.get(best);
            int start = mStart;
            int stop = mStart + best.length;
            pos = stop; // the matcher goes on after this match, kept or not
            if (t.singleWord) {
                boolean startSpace = start == 0 || !tables.word.contains(s[start - 1]);
                boolean stopSpace = stop == n || !tables.word.contains(s[stop]);
                if (!startSpace || !stopSpace) {
                    continue;
                }
            }
            if (t.lstrip) {
                int ns = start;
                while (ns > 0 && tables.whiteSpace.contains(s[ns - 1])) {
                    ns--;
                }
                start = Math.max(ns, startOffset);
            }
            if (t.rstrip) {
                while (stop < n && tables.whiteSpace.contains(s[stop])) {
                    stop++;
                }
            }
            if (startOffset < start) {
                add(out, -1, text.slice(startOffset, start));
            }
            add(out, t.id, text.slice(start, stop));
            startOffset = stop;
        }
        if (startOffset != n) {
            add(out, -1, text.slice(startOffset, n));
        }
    }

    private static void add(List<Piece> out, int id, NormalizedText t) {
        if (!t.isEmpty()) {
            out.add(new Piece(id, t));
        }
    }

    private static boolean startsWith(int[] s, int at, int[] p) {
        for (int i = 0; i < p.length; i++) {
            if (s[at + i] != p[i]) {
                return false;
            }
        }
        return true;
    }
}
