package org.bertedge.core.tokenizer;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.List;

import org.junit.Test;

/**
 * Small hand-written tokenizer.json files: the parts and corner cases the golden vectors do not
 * pin down on their own (score parsing ties, old file formats, refusals, pad ids). Expected ids
 * were checked against the Rust tokenizers library.
 */
public class PipelineTokenizerTest {
    private static String tokenizerJson(String normalizer, String preTokenizer, String model, String postProcessor,
                                        String addedTokens) {
        return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": " + addedTokens
                + ", \"normalizer\": " + normalizer + ", \"pre_tokenizer\": " + preTokenizer
                + ", \"post_processor\": " + postProcessor + ", \"decoder\": null, \"model\": " + model + "}";
    }

    private static String unigram(String vocab) {
        return "{\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0.0], [\"<pad>\", 0.0], " + vocab
                + "], \"byte_fallback\": false}";
    }

    private static PipelineTokenizer parse(String json) {
        return TokenizerJson.parse(json, null, TokenizerJson.ScoreParsing.EXACT);
    }

    private static String refusal(String json) {
        try {
            parse(json);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        fail("accepted");
        return null;
    }

    /**
     * "ab" scores -10.735323523512847, "a" + "b" exactly the same when the literal is rounded
     * correctly (a tie: the earlier start, "ab", stays); serde_json reads the literal one ulp
     * lower, so there "a" + "b" wins. Python: Unigram(vocab) → ['ab'];
     * Tokenizer.from_str(same JSON) → ['a', 'b'].
     */
    @Test
    public void unigramTiesDependOnHowScoresWereRead() {
        String json = tokenizerJson("null", "null", unigram("[\"a\", -8.735323523512847], [\"b\", -2.0], "
                + "[\"ab\", -10.735323523512847]"), "null", "[]");
        assertEquals(Arrays.asList(4), TokenizerJson.parse(json, null, TokenizerJson.ScoreParsing.EXACT).tokenIds("ab"));
        assertEquals(Arrays.asList(2, 3), TokenizerJson.parse(json, null, TokenizerJson.ScoreParsing.SERDE_JSON).tokenIds("ab"));
    }

    @Test
    public void unknownCharactersFuseIntoOneUnk() {
        PipelineTokenizer t = parse(tokenizerJson("null", "null", unigram("[\"a\", -1.0]"), "null", "[]"));
        assertEquals(Arrays.asList(2, 0, 2, 0), t.tokenIds("axyaé"));
    }

    @Test
    public void metaspaceSchemes() {
        String model = unigram("[\"\u2581\", -3.0], [\"a\", -1.0], [\"\u2581a\", -1.0], [\"<s>\", 0.0]");
        String added = "[{\"id\": 5, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                + "\"normalized\": false, \"special\": true}]";
        PipelineTokenizer always = parse(tokenizerJson("null",
                "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"always\", \"split\": true}",
                model, "null", added));
        PipelineTokenizer first = parse(tokenizerJson("null",
                "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"first\", \"split\": true}",
                model, "null", added));
        PipelineTokenizer never = parse(tokenizerJson("null",
                "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"never\", \"split\": true}",
                model, "null", added));
        // files written before prepend_scheme existed: add_prefix_space false means never
        PipelineTokenizer old = parse(tokenizerJson("null",
                "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"add_prefix_space\": false, \"prepend_scheme\": \"never\"}",
                model, "null", added));
        assertEquals(Arrays.asList(4, 5, 4), always.tokenIds("a<s>a"));
        assertEquals(Arrays.asList(4, 5, 3), first.tokenIds("a<s>a"));
        assertEquals(Arrays.asList(3, 5, 3), never.tokenIds("a<s>a"));
        assertEquals(never.tokenIds("a a<s>a"), old.tokenIds("a a<s>a"));
        assertEquals(Arrays.asList(3, 4), never.tokenIds("a a"));
    }

    @Test
    public void bpeMergesAsStringsOrPairsAreTheSame() {
        String vocab = "{\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"abc\": 4, \"<pad>\": 5}";
        String asPairs = "{\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"vocab\": " + vocab
                + ", \"merges\": [[\"a\", \"b\"], [\"ab\", \"c\"]]}";
        String asStrings = "{\"type\": \"BPE\", \"vocab\": " + vocab + ", \"merges\": [\"a b\", \"ab c\"]}";
        PipelineTokenizer p = parse(tokenizerJson("null", "null", asPairs, "null", "[]"));
        PipelineTokenizer s = parse(tokenizerJson("null", "null", asStrings, "null", "[]"));
        assertEquals(Arrays.asList(4, 1, 3), p.tokenIds("abcbab"));
        assertEquals(p.tokenIds("abcbabcc"), s.tokenIds("abcbabcc"));
        assertEquals(5, p.padId());
        assertEquals(TextTokenizer.TYPE_BPE, p.type());
    }

    @Test
    public void bpeUnknownsFuseOnlyWhenAsked() {
        String base = "\"vocab\": {\"<unk>\": 0, \"a\": 1, \"<pad>\": 2}, \"merges\": [], \"unk_token\": \"<unk>\"";
        PipelineTokenizer fused = parse(tokenizerJson("null", "null", "{\"type\": \"BPE\", " + base
                + ", \"fuse_unk\": true}", "null", "[]"));
        PipelineTokenizer apart = parse(tokenizerJson("null", "null", "{\"type\": \"BPE\", " + base
                + ", \"fuse_unk\": false}", "null", "[]"));
        assertEquals(Arrays.asList(1, 0, 1), fused.tokenIds("axyza"));
        assertEquals(Arrays.asList(1, 0, 0, 0, 1), apart.tokenIds("axyza"));
    }

    @Test
    public void robertaTemplateAndPadding() {
        String model = "{\"type\": \"BPE\", \"vocab\": {\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"a\": 3, \"b\": 4}, \"merges\": []}";
        String post = "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 0], "
                + "\"trim_offsets\": true, \"add_prefix_space\": false}";
        PipelineTokenizer t = parse(tokenizerJson("null", "null", model, post, "[]"));
        Encoding e = new Encoder(t, 10).encode("ab", "b");
        assertArrayEquals(new int[] {0, 3, 4, 2, 2, 4, 2, 1, 1, 1}, e.inputIds);
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, e.attentionMask);
        assertArrayEquals(new int[10], e.tokenTypeIds);
        try {
            new Encoder(t, 3).encode("a", "b");
            fail("a pair does not fit in 3 with 4 special tokens");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("4 special tokens"));
        }
    }

    @Test
    public void padIdComesFromTheFileOrTheOverride() {
        String model = "{\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"[PAD]\": 7}, \"merges\": []}";
        assertEquals(7, parse(tokenizerJson("null", "null", model, "null", "[]")).padId());
        String padded = tokenizerJson("null", "null", model, "null", "[]")
                .replace("\"padding\": null", "\"padding\": {\"pad_id\": 3, \"pad_token\": \"x\"}");
        assertEquals(3, parse(padded).padId());
        assertEquals(9, TokenizerJson.parse(padded, 9, TokenizerJson.ScoreParsing.EXACT).padId());
        String none = "{\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}";
        String msg = refusal(tokenizerJson("null", "null", none, "null", "[]"));
        assertTrue(msg, msg.startsWith("tokenizer.json: no pad token"));
    }

    @Test
    public void unsupportedPartsAreRefusedByName() {
        String model = unigram("[\"a\", -1.0]");
        assertEquals("tokenizer.json: pre_tokenizer.type 'Split' is not supported (supported: Sequence, ByteLevel, "
                        + "Metaspace, WhitespaceSplit)",
                refusal(tokenizerJson("null", "{\"type\": \"Split\"}", model, "null", "[]")));
        assertTrue(refusal(tokenizerJson("{\"type\": \"BertNormalizer\"}", "null", model, "null", "[]"))
                .startsWith("tokenizer.json: normalizer.type 'BertNormalizer' is not supported"));
        assertTrue(refusal(tokenizerJson("null", "null", "{\"type\": \"WordPiece\", \"vocab\": {}}", "null", "[]"))
                .startsWith("tokenizer.json: model.type 'WordPiece' is not supported"));
        assertTrue(refusal(tokenizerJson("null", "null", "{\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {}, "
                + "\"merges\": []}", "null", "[]")).contains("dropout"));
        assertTrue(refusal(tokenizerJson("null", "null", "{\"type\": \"BPE\", \"vocab\": {\"a\": 0}, "
                + "\"merges\": [\"a x\"]}", "null", "[]")).contains("x is not in the vocabulary"));
        assertTrue(refusal("{\"model\": ").startsWith("tokenizer.json: not valid JSON"));
    }

    @Test
    public void normalizersChainAsInHf() {
        // NFKC, then Strip, then spaces collapsed by a regex Replace, then Lowercase
        String norm = "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, "
                + "{\"type\": \"Strip\", \"strip_left\": true, \"strip_right\": true}, "
                + "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, \"content\": \" \"}, "
                + "{\"type\": \"Lowercase\"}]}";
        PipelineTokenizer t = parse(tokenizerJson(norm, "null", unigram("[\"a\", -1.0]"), "null", "[]"));
        assertEquals("fi ab cd i\u0307", t.normalize("  \uFB01  \uFF21B   Cd \u0130 "));
        String accents = "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKD\"}, {\"type\": \"StripAccents\"}]}";
        PipelineTokenizer s = parse(tokenizerJson(accents, "null", unigram("[\"a\", -1.0]"), "null", "[]"));
        assertEquals("cafe naive A", s.normalize("café naïve \u00C5"));
    }

    @Test
    public void tokenLookups() {
        PipelineTokenizer t = parse(tokenizerJson("null", "null", unigram("[\"a\", -1.0]"), "null",
                "[{\"id\": 3, \"content\": \"<mask>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}]"));
        assertEquals("<mask>", t.idToToken(3));
        assertEquals("a", t.idToToken(2));
        assertEquals(3, t.tokenToId("<mask>"));
        assertEquals(4, t.vocabSize());
        List<Integer> ids = t.tokenIds("a<mask>a");
        assertEquals(Arrays.asList(2, 3, 2), ids);
    }
}
