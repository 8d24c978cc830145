package org.bertedge.core.tokenizer;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.bertedge.core.TestFiles;
import org.junit.Test;

public class EncoderTest {
    private static Encoder encoder(int maxLen) throws Exception {
        Vocab v = Vocab.read(TestFiles.open("/bundle/vocab.txt"));
        return new Encoder(BertTokenizer.uncased(v), maxLen);
    }

    private static List<Integer> range(int n, int value) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(value);
        return out;
    }

    @Test
    public void padsToMaxLength() throws Exception {
        Encoding e = encoder(16).encode("I loved this movie!");
        assertArrayEquals(new int[] {3, 22, 24, 43, 14, 6, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0}, e.inputIds);
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, e.attentionMask);
        assertArrayEquals(new int[16], e.tokenTypeIds);
        assertEquals(7, e.length);
        assertFalse(e.truncated);
    }

    @Test
    public void emptyTextIsClsSep() throws Exception {
        Encoding e = encoder(4).encode("");
        assertArrayEquals(new int[] {3, 4, 0, 0}, e.inputIds);
        assertArrayEquals(new int[] {1, 1, 0, 0}, e.attentionMask);
    }

    @Test
    public void truncatesToMaxLengthMinusTwo() throws Exception {
        Encoding e = encoder(6).encode("a very very very very very very");
        assertArrayEquals(new int[] {3, 11, 44, 44, 44, 4}, e.inputIds);
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1}, e.attentionMask);
        assertTrue(e.truncated);
        Encoding exact = encoder(6).encode("a very very very");
        assertFalse(exact.truncated);
        assertArrayEquals(new int[] {3, 11, 44, 44, 44, 4}, exact.inputIds);
    }

    @Test
    public void specialTokensInTextAreKept() throws Exception {
        Encoding e = encoder(16).encode("It's not [MASK] good");
        assertArrayEquals(new int[] {3, 23, 9, 39, 26, 5, 21, 4, 0, 0, 0, 0, 0, 0, 0, 0}, e.inputIds);
    }

    @Test
    public void pairGetsTypeOneAndTwoSeps() throws Exception {
        Encoding e = encoder(16).encode("this film", "was unbelievable fun");
        assertArrayEquals(new int[] {3, 43, 15, 4, 16, 31, 32, 33, 47, 4, 0, 0, 0, 0, 0, 0}, e.inputIds);
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, e.tokenTypeIds);
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, e.attentionMask);
    }

    /** The expectations of tokenizers' own test (utils/truncation.rs, max_length 7). */
    @Test
    public void longestFirstPairTruncationMatchesHf() {
        int[][] cases = {
                {0, 0, 0, 0}, {0, 2, 0, 2}, {0, 4, 0, 4}, {0, 8, 0, 7},
                {2, 0, 2, 0}, {2, 2, 2, 2}, {2, 4, 2, 4}, {2, 8, 2, 5},
                {4, 0, 4, 0}, {4, 2, 4, 2}, {4, 4, 3, 4}, {4, 8, 3, 4},
                {8, 0, 7, 0}, {8, 2, 5, 2}, {8, 4, 4, 3}, {8, 8, 3, 4}};
        for (int[] c : cases) {
            int[] got = c[0] + c[1] > 7 ? Encoder.longestFirst(c[0], c[1], 7) : new int[] {c[0], c[1]};
            assertArrayEquals("n1=" + c[0] + " n2=" + c[1], new int[] {c[2], c[3]}, got);
        }
    }

    @Test
    public void pairTruncationFillsTheModelLength() throws Exception {
        Encoder enc = encoder(10);
        Encoding e = enc.fromTokenIds(range(20, 11), range(3, 44));
        // budget 10 - 3 = 7: the shorter keeps 3, the longer gets 4
        assertArrayEquals(new int[] {3, 11, 11, 11, 11, 4, 44, 44, 44, 4}, e.inputIds);
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, e.tokenTypeIds);
        assertTrue(e.truncated);
    }

    @Test(expected = IllegalArgumentException.class)
    public void tinyMaxLengthIsRejected() throws Exception {
        encoder(2);
    }
}
