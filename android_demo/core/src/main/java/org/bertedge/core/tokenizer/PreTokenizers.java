package org.bertedge.core.tokenizer;

import java.util.ArrayList;
import java.util.List;

/** The simple tokenizer.json pre-tokenizers; the byte-level one is {@link ByteLevelPreTokenizer}. */
final class PreTokenizers {
    private PreTokenizers() {}

    /** {@code Sequence}: each pre-tokenizer over all pieces of the previous one. */
    static final class Sequence implements PreTokenizer {
        private final List<PreTokenizer> steps;

        Sequence(List<PreTokenizer> steps) {
            this.steps = new ArrayList<>(steps);
        }

        @Override
        public void split(NormalizedText piece, List<NormalizedText> out) {
            List<NormalizedText> cur = new ArrayList<>();
            cur.add(piece);
            for (PreTokenizer p : steps) {
                List<NormalizedText> next = new ArrayList<>();
                for (NormalizedText c : cur) {
                    p.split(c, next);
                }
                cur = next;
            }
            out.addAll(cur);
        }
    }

    /** {@code WhitespaceSplit}: the runs between whitespace ({@code char::is_whitespace}). */
    static final class WhitespaceSplit implements PreTokenizer {
        private final PipelineTables tables = PipelineTables.get();

        @Override
        public void split(NormalizedText piece, List<NormalizedText> out) {
            int start = -1;
            for (int i = 0; i <= piece.len; i++) {
                boolean space = i == piece.len || tables.whiteSpace.contains(piece.cps[i]);
                if (space) {
                    if (start >= 0) {
                        out.add(piece.slice(start, i));
                        start = -1;
                    }
                } else if (start < 0) {
                    start = i;
                }
            }
        }
    }

    /**
     * {@code Metaspace}: spaces become the replacement (U+2581 '▁'), which is prepended per
     * {@code prepend_scheme} ("always"; "first": only to the piece at original offset 0;
     * "never"), then, with {@code split}, each replacement starts a new piece.
     */
    static final class Metaspace implements PreTokenizer {
        static final int ALWAYS = 0;
        static final int FIRST = 1;
        static final int NEVER = 2;

        private final int replacement;
        private final int scheme;
        private final boolean split;

        Metaspace(int replacement, int scheme, boolean split) {
            this.replacement = replacement;
            this.scheme = scheme;
            this.split = split;
        }

        @Override
        public void split(NormalizedText piece, List<NormalizedText> out) {
            int n = 0;
            for (int i = 0; i < piece.len; i++) {
                if (piece.cps[i] == ' ') {
                    n++;
                }
            }
            if (n > 0) {
                int[] starts = new int[n];
                int[] ends = new int[n];
                for (int i = 0, k = 0; i < piece.len; i++) {
                    if (piece.cps[i] == ' ') {
                        starts[k] = i;
                        ends[k++] = i + 1;
                    }
                }
                piece.replaceMatches(starts, ends, n, new int[] {replacement});
            }
            boolean startsWithReplacement = piece.len > 0 && piece.cps[0] == replacement;
            if (!startsWithReplacement && (scheme == ALWAYS || (scheme == FIRST && piece.shift == 0))) {
                piece.prepend(new int[] {replacement});
            }
            if (!split) {
                if (!piece.isEmpty()) {
                    out.add(piece);
                }
                return;
            }
            // MergedWithNext: a replacement opens a piece that runs up to the next one
            int start = 0;
            for (int i = 1; i <= piece.len; i++) {
                if (i == piece.len || piece.cps[i] == replacement) {
                    if (i > start) {
                        out.add(piece.slice(start, i));
                    }
                    start = i;
                }
            }
        }
    }
}
