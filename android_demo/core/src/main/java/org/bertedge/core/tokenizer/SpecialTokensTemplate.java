package org.bertedge.core.tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The special tokens a post-processor puts around one sequence ($A) or a pair ($A, $B), with the
 * token type of every part: HF's {@code TemplateProcessing}, to which {@code BertProcessing}
 * ({@code [CLS] A [SEP] B:1 [SEP]:1}) and {@code RobertaProcessing} ({@code <s> A </s></s> B </s>},
 * all type 0) reduce for ids. Immutable.
 */
public final class SpecialTokensTemplate {
    /** One part of a template: a sequence (A or B) or special token ids, with a token type. */
    public static final class Part {
        /** 'A', 'B', or 0 for special ids. */
        final char sequence;
        final int[] ids;
        final int typeId;

        private Part(char sequence, int[] ids, int typeId) {
            this.sequence = sequence;
            this.ids = ids;
            this.typeId = typeId;
        }

        public static Part sequence(char which, int typeId) {
            if (which != 'A' && which != 'B') {
                throw new IllegalArgumentException("a template sequence is A or B, got " + which);
            }
            return new Part(which, null, typeId);
        }

        public static Part special(int[] ids, int typeId) {
            return new Part((char) 0, ids.clone(), typeId);
        }
    }

    private final List<Part> single;
    private final List<Part> pair;

    public SpecialTokensTemplate(List<Part> single, List<Part> pair) {
        check(single, false);
        check(pair, true);
        this.single = Collections.unmodifiableList(new ArrayList<>(single));
        this.pair = Collections.unmodifiableList(new ArrayList<>(pair));
    }

    /** {@code [CLS] A [SEP]} / {@code [CLS] A [SEP] B [SEP]}, the second segment type 1. */
    public static SpecialTokensTemplate bert(int cls, int sep) {
        List<Part> s = new ArrayList<>();
        s.add(Part.special(new int[] {cls}, 0));
        s.add(Part.sequence('A', 0));
        s.add(Part.special(new int[] {sep}, 0));
        List<Part> p = new ArrayList<>(s);
        p.add(Part.sequence('B', 1));
        p.add(Part.special(new int[] {sep}, 1));
        return new SpecialTokensTemplate(s, p);
    }

    /** {@code <s> A </s>} / {@code <s> A </s> </s> B </s>}, every type 0. */
    public static SpecialTokensTemplate roberta(int cls, int sep) {
        List<Part> s = new ArrayList<>();
        s.add(Part.special(new int[] {cls}, 0));
        s.add(Part.sequence('A', 0));
        s.add(Part.special(new int[] {sep}, 0));
        List<Part> p = new ArrayList<>(s);
        p.add(Part.special(new int[] {sep}, 0));
        p.add(Part.sequence('B', 0));
        p.add(Part.special(new int[] {sep}, 0));
        return new SpecialTokensTemplate(s, p);
    }

    /** No special tokens (no post-processor): A type 0, B type 1, as HF's default. */
    public static SpecialTokensTemplate none() {
        List<Part> s = new ArrayList<>();
        s.add(Part.sequence('A', 0));
        List<Part> p = new ArrayList<>(s);
        p.add(Part.sequence('B', 1));
        return new SpecialTokensTemplate(s, p);
    }

    private static void check(List<Part> parts, boolean pair) {
        int a = 0;
        int b = 0;
        for (Part x : parts) {
            if (x.sequence == 'A') a++;
            if (x.sequence == 'B') b++;
        }
        if (a != 1 || b != (pair ? 1 : 0)) {
            throw new IllegalArgumentException("a " + (pair ? "pair" : "single") + " template needs $A once"
                    + (pair ? " and $B once" : " and no $B") + " (got $A " + a + " times, $B " + b + " times)");
        }
    }

    /** Number of special token ids around one sequence or a pair. */
    public int added(boolean isPair) {
        int n = 0;
        for (Part x : isPair ? pair : single) {
            if (x.ids != null) {
                n += x.ids.length;
            }
        }
        return n;
    }

    /**
     * Writes the template with the first {@code nA} ids of {@code a} and {@code nB} of {@code b}
     * (b null for one sequence) into {@code ids}/{@code types} from index 0; returns the count.
     */
    int write(List<Integer> a, int nA, List<Integer> b, int nB, int[] ids, int[] types) {
        int k = 0;
        for (Part x : b == null ? single : pair) {
            if (x.ids != null) {
                for (int id : x.ids) {
                    ids[k] = id;
                    types[k++] = x.typeId;
                }
            } else {
                List<Integer> seq = x.sequence == 'A' ? a : b;
                int n = x.sequence == 'A' ? nA : nB;
                for (int i = 0; i < n; i++) {
                    ids[k] = seq.get(i);
                    types[k++] = x.typeId;
                }
            }
        }
        return k;
    }
}
