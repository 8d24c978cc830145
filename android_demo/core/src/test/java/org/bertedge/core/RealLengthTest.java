package org.bertedge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

import org.bertedge.core.tokenizer.Encoding;
import org.junit.Test;

/** The app cuts inputs exactly like converters/real_length.py keep_lengths. */
public class RealLengthTest {
    @Test
    public void keepsUpToTheLastRealTokenPlusContext() {
        int[] mask = {1, 1, 1, 1, 0, 0, 0, 0};
        assertEquals(4, RealLength.keep(mask, 0));
        assertEquals(5, RealLength.keep(mask, 1)); // MobileBERT reads one pad
        assertEquals(8, RealLength.keep(new int[] {1, 1, 1, 1, 1, 1, 1, 1}, 1)); // capped at max
        assertEquals(1, RealLength.keep(new int[] {0, 0, 0}, 0)); // never empty
        assertEquals(4, RealLength.keep(new int[] {1, 0, 1, 1, 0, 0}, 0)); // interior zeros stay
    }

    @Test
    public void cutCopiesThePrefixOfAllThreeInputs() {
        Encoding e = new Encoding(new int[] {101, 7, 102, 0, 0}, new int[] {1, 1, 1, 0, 0},
                new int[] {0, 0, 0, 0, 0}, 3, false);
        Encoding c = RealLength.cut(e, 0);
        assertArrayEquals(new int[] {101, 7, 102}, c.inputIds);
        assertArrayEquals(new int[] {1, 1, 1}, c.attentionMask);
        assertArrayEquals(new int[] {0, 0, 0}, c.tokenTypeIds);
        assertEquals(3, c.length);
        assertEquals(4, RealLength.cut(e, 1).inputIds.length);
        Encoding full = new Encoding(new int[] {101, 102}, new int[] {1, 1}, new int[] {0, 0}, 2, false);
        assertSame(full, RealLength.cut(full, 0));
    }

    @Test(expected = IllegalArgumentException.class)
    public void negativeContextIsRefused() {
        RealLength.keep(new int[] {1}, -1);
    }
}
