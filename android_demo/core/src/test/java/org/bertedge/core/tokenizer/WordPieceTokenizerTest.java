package org.bertedge.core.tokenizer;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.Test;

public class WordPieceTokenizerTest {
    static final Vocab VOCAB = Vocab.fromTokens(Arrays.asList(
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a", "##a", "aa", "play",
            "##ing", "😀", "##😀", "é"));

    private static List<Integer> ids(WordPieceTokenizer wp, String word) {
        List<Integer> out = new ArrayList<>();
        wp.tokenize(word, out);
        return out;
    }

    @Test
    public void greedyLongestMatchWithContinuations() {
        WordPieceTokenizer wp = new WordPieceTokenizer(VOCAB);
        assertEquals(Arrays.asList(5, 6, 7), ids(wp, "unaffable"));
        assertEquals(Arrays.asList(11, 12), ids(wp, "playing"));
        assertEquals(Arrays.asList(10, 9), ids(wp, "aaa")); // "aa" first, then "##a"
    }

    @Test
    public void uncoverableWordIsOneUnk() {
        WordPieceTokenizer wp = new WordPieceTokenizer(VOCAB);
        assertEquals(Arrays.asList(1), ids(wp, "unaffablex"));
        assertEquals(Arrays.asList(1), ids(wp, "xplay"));
    }

    @Test
    public void astralPiecesMatchWholeCodePoints() {
        WordPieceTokenizer wp = new WordPieceTokenizer(VOCAB);
        assertEquals(Arrays.asList(13, 14, 14), ids(wp, "😀😀😀"));
    }

    @Test
    public void lengthLimitCountsCodePointsNotUtf16Units() {
        WordPieceTokenizer wp = new WordPieceTokenizer(VOCAB, 4);
        // four emoji = 8 UTF-16 units but 4 code points: within the limit
        assertEquals(Arrays.asList(13, 14, 14, 14), ids(wp, "😀😀😀😀"));
        assertEquals(Arrays.asList(1), ids(wp, "😀😀😀😀😀"));
        assertEquals(Arrays.asList(10, 9, 9), ids(wp, "aaaa"));
        WordPieceTokenizer dflt = new WordPieceTokenizer(VOCAB);
        StringBuilder hundred = new StringBuilder();
        for (int i = 0; i < 100; i++) hundred.append('a');
        assertEquals(99, ids(dflt, hundred.toString()).size()); // "aa" + 98 x "##a"
        assertEquals(Arrays.asList(1), ids(dflt, hundred + "a"));
    }

    @Test
    public void vocabReadsLinesLikeHf() throws Exception {
        Vocab v = Vocab.parse("[PAD]\n[UNK]\r\n[CLS]\n[SEP]\nx\u2028y\n\nlast");
        assertEquals(7, v.size());
        assertEquals(1, v.id("[UNK]"));
        assertEquals(4, v.id("x\u2028y"));
        assertEquals(5, v.id(""));
        assertEquals(6, v.id("last"));
        assertEquals(-1, v.id("[MASK]"));
    }

    @Test(expected = IllegalArgumentException.class)
    public void vocabWithoutUnkIsRejected() {
        Vocab.parse("[PAD]\n[CLS]\n[SEP]\n");
    }
}
