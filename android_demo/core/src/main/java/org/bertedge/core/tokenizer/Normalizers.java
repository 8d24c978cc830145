package org.bertedge.core.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The small tokenizer.json normalizers, each the Rust one step for step (same edits, so the same
 * alignments, see {@link NormalizedText}). The larger ones: {@link UnicodeNormalizer},
 * {@link PrecompiledNormalizer}.
 */
final class Normalizers {
    private Normalizers() {}

    /** {@code Sequence}: each normalizer in turn. */
    static final class Sequence implements Normalizer {
        private final List<Normalizer> steps;

        Sequence(List<Normalizer> steps) {
            this.steps = new ArrayList<>(steps);
        }

        @Override
        public void normalize(NormalizedText t) {
            for (Normalizer n : steps) {
                n.normalize(t);
            }
        }
    }

    /** {@code Lowercase}: Rust's {@code char::to_lowercase}, code point by code point. */
    static final class Lowercase implements Normalizer {
        private final CharTables tables = CharTables.get();

        @Override
        public void normalize(NormalizedText t) {
            NormalizedText.Edits e = new NormalizedText.Edits(t.len + 4);
            for (int i = 0; i < t.len; i++) {
                int[] low = tables.lower.get(t.cps[i]);
                if (low == null) {
                    e.add(t.cps[i], 0);
                } else {
                    for (int k = 0; k < low.length; k++) {
                        e.add(low[k], k > 0 ? 1 : 0);
                    }
                }
            }
            t.transform(e, 0);
        }
    }

    /** {@code Strip}: whitespace ({@code char::is_whitespace}) off either end. */
    static final class Strip implements Normalizer {
        private final boolean left;
        private final boolean right;
        private final PipelineTables tables = PipelineTables.get();

        Strip(boolean left, boolean right) {
            this.left = left;
            this.right = right;
        }

        @Override
        public void normalize(NormalizedText t) {
            int lead = 0;
            if (left) {
                while (lead < t.len && tables.whiteSpace.contains(t.cps[lead])) {
                    lead++;
                }
            }
            int trail = 0;
            if (right) {
                while (trail < t.len && tables.whiteSpace.contains(t.cps[t.len - 1 - trail])) {
                    trail++;
                }
            }
            if (lead == 0 && trail == 0) {
                return;
            }
            NormalizedText.Edits e = new NormalizedText.Edits(t.len);
            for (int i = lead; i < t.len - trail; i++) {
                // the Rust code attaches the trailing removal to the last kept code point
                e.add(t.cps[i], i == t.len - trail - 1 ? -trail : 0);
            }
            t.transform(e, lead);
        }
    }

    /** {@code StripAccents}: drops combining marks ({@code is_combining_mark}). */
    static final class StripAccents implements Normalizer {
        private final PipelineTables tables = PipelineTables.get();

        @Override
        public void normalize(NormalizedText t) {
            filter(t, tables.combining);
        }

        /** {@code NormalizedString::filter} keeping what is NOT in {@code drop}. */
        static void filter(NormalizedText t, CharTables.CpSet drop) {
            NormalizedText.Edits e = new NormalizedText.Edits(t.len);
            int removed = 0;
            int removedStart = 0;
            int last = -1;
            for (int i = 0; i < t.len; i++) {
                int c = t.cps[i];
                if (!drop.contains(c)) {
                    if (last >= 0) {
                        e.add(last, -removed);
                    } else {
                        removedStart = removed;
                    }
                    last = c;
                    removed = 0;
                } else {
                    removed++;
                }
            }
            if (last >= 0) {
                e.add(last, -removed);
            }
            t.transform(e, removedStart);
        }
    }

    /** {@code Prepend}: a fixed string before any non-empty text. */
    static final class Prepend implements Normalizer {
        private final int[] prefix;

        Prepend(String prefix) {
            this.prefix = prefix.codePoints().toArray();
        }

        @Override
        public void normalize(NormalizedText t) {
            t.prepend(prefix);
        }
    }

    /**
     * {@code Replace}: every match of a literal string, or of a regular expression, becomes
     * {@code content}. Regular expressions run on {@code java.util.regex}; HF runs Oniguruma.
     * They agree on the patterns converters write (such as {@code " {2,}"}); a pattern whose
     * meaning depends on Unicode classes may not.
     */
    static final class Replace implements Normalizer {
        private final String literal;
        private final Pattern regex;
        private final int[] content;

        private Replace(String literal, Pattern regex, String content) {
            this.literal = literal;
            this.regex = regex;
            this.content = content.codePoints().toArray();
        }

        static Replace literal(String pattern, String content) {
            return new Replace(pattern, null, content);
        }

        static Replace regex(String pattern, String content) {
            return new Replace(null, Pattern.compile(pattern), content);
        }

        @Override
        public void normalize(NormalizedText t) {
            if (t.len == 0 || (literal != null && literal.isEmpty())) {
                return;
            }
            String s = t.toString();
            // UTF-16 index → code point index
            int[] cpIndex = new int[s.length() + 1];
            for (int i = 0, k = 0; i <= s.length(); ) {
                cpIndex[i] = k;
                if (i == s.length()) {
                    break;
                }
                int n = Character.charCount(s.codePointAt(i));
                if (n == 2) {
                    cpIndex[i + 1] = k;
                }
                i += n;
                k++;
            }
            List<int[]> found = new ArrayList<>();
            if (literal != null) {
                int from = 0;
                int i;
                while ((i = s.indexOf(literal, from)) >= 0) {
                    found.add(new int[] {cpIndex[i], cpIndex[i + literal.length()]});
                    from = i + literal.length();
                }
            } else {
                Matcher m = regex.matcher(s);
                while (m.find()) {
                    found.add(new int[] {cpIndex[m.start()], cpIndex[m.end()]});
                }
            }
            int[] starts = new int[found.size()];
            int[] ends = new int[found.size()];
            for (int i = 0; i < starts.length; i++) {
                starts[i] = found.get(i)[0];
                ends[i] = found.get(i)[1];
            }
            t.replaceMatches(starts, ends, starts.length, content);
        }
    }
}
