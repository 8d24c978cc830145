package org.bertedge.core.tokenizer;

import java.util.List;

/**
 * Builds fixed-length model inputs exactly as {@code tokenizer(text, text_pair,
 * padding="max_length", truncation=True, max_length=L)} of the HF fast tokenizer, for every
 * {@link TextTokenizer}: the text's ids truncated longest-first to {@code L} minus the special
 * tokens, placed in the tokenizer's {@link SpecialTokensTemplate} (BERT: {@code [CLS] A [SEP]}
 * or {@code [CLS] A [SEP] B [SEP]}, B with token type 1; RoBERTa: {@code <s> A </s></s> B </s>},
 * all type 0), then padded with the tokenizer's pad id (mask 0, type 0) up to L.
 */
public final class Encoder {
    private final TextTokenizer tokenizer;
    private final SpecialTokensTemplate template;
    private final int maxLength;

    public Encoder(TextTokenizer tokenizer, int maxLength) {
        this.template = tokenizer.template();
        int min = template.added(false) + 1;
        if (maxLength < Math.max(3, min)) {
            throw new IllegalArgumentException("max length must be at least " + Math.max(3, min) + ", got " + maxLength);
        }
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    public int maxLength() {
        return maxLength;
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    public Encoding encode(String text) {
        return encode(text, null);
    }

    public Encoding encode(String text, String pair) {
        List<Integer> a = tokenizer.tokenIds(text);
        List<Integer> b = pair == null ? null : tokenizer.tokenIds(pair);
        return fromTokenIds(a, b);
    }

    /** Truncate, add the special tokens and pad (public for tests and for reuse of ids). */
    public Encoding fromTokenIds(List<Integer> a, List<Integer> b) {
        int n1 = a.size();
        int n2 = b == null ? 0 : b.size();
        int budget = maxLength - template.added(b != null);
        if (budget < 0) {
            // HF would not truncate at all here (its budget underflows): refuse instead
            throw new IllegalArgumentException("max length " + maxLength + " is shorter than the "
                    + template.added(b != null) + " special tokens of a " + (b == null ? "text" : "pair"));
        }
        boolean truncated = n1 + n2 > budget;
        if (truncated) {
            if (b == null) {
                n1 = budget;
            } else {
                int[] n = longestFirst(n1, n2, budget);
                n1 = n[0];
                n2 = n[1];
            }
        }
        int[] ids = new int[maxLength];
        int[] mask = new int[maxLength];
        int[] types = new int[maxLength];
        int k = template.write(a, n1, b, n2, ids, types);
        for (int i = 0; i < k; i++) {
            mask[i] = 1;
        }
        int pad = tokenizer.padId();
        for (int i = k; i < maxLength; i++) {
            ids[i] = pad;
            types[i] = 0;
        }
        return new Encoding(ids, mask, types, k, truncated);
    }

    /**
     * Lengths after HF's LongestFirst truncation of a pair to {@code max} tokens
     * (tokenizers/src/utils/truncation.rs): the shorter keeps its length when the longer can take
     * the rest, else both get half, the longer (or, at equal length, the second) one more on odd.
     */
    static int[] longestFirst(int n1, int n2, int max) {
        boolean swap = false;
        if (n1 > n2) {
            int t = n1;
            n1 = n2;
            n2 = t;
            swap = true;
        }
        if (n1 > max) {
            n2 = n1;
        } else {
            n2 = Math.max(n1, max - n1);
        }
        if (n1 + n2 > max) {
            n1 = max / 2;
            n2 = n1 + max % 2;
        }
        return swap ? new int[] {n2, n1} : new int[] {n1, n2};
    }
}
