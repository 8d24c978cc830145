package org.bertedge.core.tokenizer;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.Test;

/** Extended grapheme clusters (UAX #29, as the unicode-segmentation crate applies it). */
public class GraphemesTest {
    private static List<String> clusters(String s) {
        int[] cps = s.codePoints().toArray();
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int end : Graphemes.ends(cps, cps.length)) {
            out.add(new String(cps, start, end - start));
            start = end;
        }
        return out;
    }

    @Test
    public void rules() {
        assertEquals(Arrays.asList(), clusters(""));
        assertEquals(Arrays.asList("a", "\r\n", "b"), clusters("a\r\nb"));                          // GB3
        assertEquals(Arrays.asList("\n", "\r"), clusters("\n\r"));                                   // GB4
        assertEquals(Arrays.asList("a", "\u0001", "\u0301"), clusters("a\u0001\u0301"));              // GB4, GB5
        assertEquals(Arrays.asList("e\u0301\u0301", "x"), clusters("e\u0301\u0301x"));                // GB9
        assertEquals(Arrays.asList("\u1100\u1161\u11A8", "\uAC00\u11A8"), clusters("\u1100\u1161\u11A8\uAC00\u11A8")); // GB6-8
        assertEquals(Arrays.asList("\u0915\u093F"), clusters("\u0915\u093F"));                        // GB9a
        assertEquals(Arrays.asList("\u0600a"), clusters("\u0600a"));                                  // GB9b
        assertEquals(Arrays.asList("\u0915\u094D\u0937"), clusters("\u0915\u094D\u0937"));             // GB9c
        // GB9c needs the consonant before the linker (the regex module's \X does not)
        assertEquals(Arrays.asList("a\u094D", "\u0937"), clusters("a\u094D\u0937"));
        assertEquals(Arrays.asList("\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67"),
                clusters("\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67"));                      // GB11
        assertEquals(Arrays.asList("a\u200D", "\uD83D\uDE00"), clusters("a\u200D\uD83D\uDE00"));       // no GB11
        assertEquals(Arrays.asList("\uD83C\uDDEB\uD83C\uDDF7", "\uD83C\uDDE9\uD83C\uDDEA", "\uD83C\uDDEE"),
                clusters("\uD83C\uDDEB\uD83C\uDDF7\uD83C\uDDE9\uD83C\uDDEA\uD83C\uDDEE"));            // GB12, GB13
    }
}
