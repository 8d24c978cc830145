package org.bertedge.core.tokenizer;

import static org.junit.Assert.assertEquals;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import org.junit.Test;

/** Hand-checked behaviours of the normalizer/pre-tokenizer (exact HF parity: TokenizerGoldenTest). */
public class BasicTokenizerTest {
    private final BasicTokenizer uncased = new BasicTokenizer(true, null);
    private final BasicTokenizer cased = new BasicTokenizer(false, null);

    private static List<String> words(String... w) {
        return Arrays.asList(w);
    }

    @Test
    public void lowercasesAndStripsAccents() {
        assertEquals(words("cafe", "naive", "deja", "-", "vu"), uncased.tokenize("Café NAÏVE déjà-vu"));
        assertEquals("cafe", uncased.normalize("cafe\u0301")); // decomposed input
        assertEquals("istanbul", uncased.normalize("İstanbul")); // İ -> I + U+0307 -> i
        assertEquals("ı", uncased.normalize("ı"));
        assertEquals("straße", uncased.normalize("STRAßE"));
        assertEquals("и", uncased.normalize("й")); // breve is a non-spacing mark
        assertEquals("a", uncased.normalize("Å")); // U+212B ANGSTROM SIGN: NFD -> A + ring
        assertEquals("k", uncased.normalize("K")); // U+212A KELVIN SIGN
    }

    @Test
    public void lowercasesPerCodePointWithoutFinalSigma() {
        // String.toLowerCase would give "σας"-style final sigma; HF lowercases each char alone
        assertEquals("σασ", uncased.normalize("ΣΑΣ"));
    }

    @Test
    public void casedKeepsCaseAndAccents() {
        assertEquals(words("Café", "NAÏVE"), cased.tokenize("Café NAÏVE"));
    }

    @Test
    public void hangulDecomposesToJamo() {
        assertEquals("\u1112\u1161\u11AB", uncased.normalize("한"));
    }

    @Test
    public void cjkIdeographsBecomeWords() {
        assertEquals(words("我", "爱", "nlp", "東", "京"), uncased.tokenize("我爱NLP東京"));
        // kana are not CJK ideographs; the voicing mark of が (U+3099 after NFD) is stripped
        assertEquals(words("ひらかな"), uncased.tokenize("ひらがな"));
        assertEquals(words("𠀀", "x"), uncased.tokenize("𠀀x")); // astral ideograph, one code point
    }

    @Test
    public void punctuationIncludesAsciiSymbols() {
        assertEquals(words("a", "$", "b", "+", "c", "<", "d", "=", "e", ">", "f", "^", "g", "`", "h", "|", "i", "~", "j"),
                uncased.tokenize("a$b+c<d=e>f^g`h|i~j"));
        assertEquals(words("don", "'", "t", "!", "?"), uncased.tokenize("don't!?"));
        assertEquals(words("«", "x", "»", "¿", "y", "…"), uncased.tokenize("«x»¿y…"));
        // currency and math symbols are not punctuation: they stay inside the word
        assertEquals(words("5€", "∑x"), uncased.tokenize("5€ ∑x"));
    }

    @Test
    public void controlAndFormatCharactersAreRemoved() {
        assertEquals(words("abcd"), uncased.tokenize("ab\u0000c\u200Bd"));
        assertEquals(words("abcd"), uncased.tokenize("ab\u00ADcd\uFEFF"));
        assertEquals(words("ab", "cd"), uncased.tokenize("ab\tcd"));
        assertEquals(words("ab", "cd"), uncased.tokenize("ab\u3000cd"));
        assertEquals(words("abcd"), uncased.tokenize("ab\u0085cd")); // NEL is Cc: removed, not a space
        assertEquals(words("x"), uncased.tokenize("x\uE000\uDB80\uDC00")); // private use (BMP + plane 15)
        assertEquals(Collections.emptyList(), uncased.tokenize(" \n\u200B "));
    }

    @Test
    public void unpairedSurrogatesAreDropped() {
        assertEquals(words("ab"), uncased.tokenize("a\uD800b"));
        assertEquals(words("ab"), uncased.tokenize("a\uDC00b"));
    }

    @Test
    public void emojiAndAstralStayWholeCodePoints() {
        assertEquals(words("😀x"), uncased.tokenize("😀x"));
        assertEquals(words("𐐨"), uncased.tokenize("𐐀")); // Deseret capital -> small, astral
        assertEquals(words("x"), uncased.tokenize("x\uDB40\uDD00")); // U+E0100 variation selector: Mn, stripped
    }

    @Test
    public void canonicalOrderingOfCombiningMarks() {
        // U+1D165 (ccc 216) and U+1D16D (ccc 226) are spacing marks kept after stripping;
        // NFD puts them in class order.
        String in = "x\uD834\uDD6D\uD834\uDD65";
        assertEquals("x\uD834\uDD65\uD834\uDD6D", uncased.normalize(in));
    }

    @Test
    public void tablesParse() {
        CharTables t = CharTables.get();
        assertEquals(240, t.combiningClass(0x345));
        assertEquals(0, t.combiningClass('a'));
        assertEquals(true, t.chinese.contains(0x4E00));
        assertEquals(true, t.chinese.contains(0x2B920));
        assertEquals(false, t.chinese.contains(0x2B820));
        assertEquals(true, t.control.contains(0x10FFFD));
        assertEquals(false, t.control.contains(0x10FFFF)); // a noncharacter, kept (Cn)
        assertEquals(true, t.punct.contains('$'));
        assertEquals(false, t.punct.contains(0x20AC));
    }
}
