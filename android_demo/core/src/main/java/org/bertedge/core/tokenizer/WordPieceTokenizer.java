package org.bertedge.core.tokenizer;

import java.util.List;

/**
 * Greedy longest-match-first WordPiece over one pre-tokenized word, as Hugging Face's
 * {@code WordPiece} model: continuation pieces carry the {@code ##} prefix; a word that cannot be
 * covered completely, or that has more than {@code maxInputCharsPerWord} code points, becomes a
 * single {@code [UNK]}.
 */
public final class WordPieceTokenizer {
    public static final int DEFAULT_MAX_INPUT_CHARS_PER_WORD = 100;
    public static final String CONTINUATION_PREFIX = "##";

    private final Vocab vocab;
    private final int maxInputCharsPerWord;

    public WordPieceTokenizer(Vocab vocab) {
        this(vocab, DEFAULT_MAX_INPUT_CHARS_PER_WORD);
    }

    public WordPieceTokenizer(Vocab vocab, int maxInputCharsPerWord) {
        this.vocab = vocab;
        this.maxInputCharsPerWord = maxInputCharsPerWord;
    }

    /** Appends the ids of {@code word} to {@code out}. */
    public void tokenize(String word, List<Integer> out) {
        if (word.codePointCount(0, word.length()) > maxInputCharsPerWord) {
            out.add(vocab.unkId());
            return;
        }
        int mark = out.size();
        int start = 0;
        int len = word.length();
        while (start < len) {
            int end = len;
            int found = -1;
            while (start < end) {
                String sub = word.substring(start, end);
                if (start > 0) {
                    sub = CONTINUATION_PREFIX + sub;
                }
                int id = vocab.id(sub);
                if (id >= 0) {
                    found = id;
                    break;
                }
                end -= Character.charCount(word.codePointBefore(end));
            }
            if (found < 0) {
                while (out.size() > mark) {
                    out.remove(out.size() - 1);
                }
                out.add(vocab.unkId());
                return;
            }
            out.add(found);
            start = end;
        }
    }
}
