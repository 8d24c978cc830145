package org.bertedge.core.tokenizer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bertedge.core.Sha256;
import org.bertedge.core.json.Json;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * Exact id parity of {@link PipelineTokenizer} (byte-level BPE, SentencePiece Unigram) with the
 * Hugging Face fast tokenizer, on the vectors {@code scripts/gen_tokenizer_golden_families.py}
 * writes into {@code <bertedge.tokenizerGolden>/families/<variant>/}: per variant the WordPiece
 * set's categories plus contractions, spaces, added tokens, grapheme clusters, every byte, and
 * seeded Unicode fuzz. One test per (variant, category); any differing id, mask or type fails,
 * and so does a normalizer output that differs from HF's. Missing vectors FAIL, never skip.
 */
@RunWith(Parameterized.class)
public class FamilyTokenizerGoldenTest {
    static final Map<String, String> VARIANTS = new LinkedHashMap<>();

    static {
        VARIANTS.put("bpe_roberta", TextTokenizer.TYPE_BPE);
        VARIANTS.put("bpe_prefix", TextTokenizer.TYPE_BPE);
        VARIANTS.put("unigram_xlmr", TextTokenizer.TYPE_UNIGRAM);
        VARIANTS.put("unigram_albert", TextTokenizer.TYPE_UNIGRAM);
        VARIANTS.put("unigram_nfkc", TextTokenizer.TYPE_UNIGRAM);
    }

    static final int MIN_CASES_PER_TYPE = 2000;
    static final int MIN_FUZZ = 500;
    static final List<String> REQUIRED_CATEGORIES = new ArrayList<>(TokenizerGoldenTest.REQUIRED_CATEGORIES);

    static {
        REQUIRED_CATEGORIES.addAll(Arrays.asList("contractions", "spaces", "added_tokens", "graphemes", "bytes"));
    }

    private static final Map<String, Map<String, List<TokenizerGoldenTest.Case>>> CASES = new HashMap<>();
    private static final Map<String, Map<String, String>> NORMALIZED = new HashMap<>();
    private static final Map<String, Map<String, Object>> META = new HashMap<>();
    private static final Map<String, PipelineTokenizer> TOKENIZERS = new HashMap<>();

    static File dir(String variant) {
        return new File(new File(TokenizerGoldenTest.goldenDir(), "families"), variant);
    }

    static synchronized void load(String variant) throws IOException {
        if (CASES.containsKey(variant)) {
            return;
        }
        File d = dir(variant);
        File jsonl = new File(d, "tokenizer_golden.jsonl");
        if (!jsonl.isFile()) {
            throw new AssertionError("family tokenizer golden vectors missing: " + jsonl
                    + " (generate them with android_demo/host-tests.sh or scripts/gen_tokenizer_golden_families.py)");
        }
        Map<String, Object> meta = Json.parseObject(new String(Files.readAllBytes(new File(d, "meta.json").toPath()),
                StandardCharsets.UTF_8));
        META.put(variant, meta);
        // the vectors come from AutoTokenizer (exact scores) or from tokenizer.json read by Rust
        Object sp = meta.get("unigram_scores");
        TokenizerJson.ScoreParsing scores = sp instanceof String ? TokenizerJson.ScoreParsing.of((String) sp)
                : TokenizerJson.ScoreParsing.EXACT;
        try (InputStream in = new FileInputStream(new File(d, TokenizerJson.FILE))) {
            TOKENIZERS.put(variant, TokenizerJson.read(in, null, scores));
        }
        Map<String, List<TokenizerGoldenTest.Case>> cats = new LinkedHashMap<>();
        Map<String, String> norm = new HashMap<>();
        for (String line : Files.readAllLines(jsonl.toPath(), StandardCharsets.UTF_8)) {
            if (line.isEmpty()) continue;
            TokenizerGoldenTest.Case c = TokenizerGoldenTest.Case.parse(line);
            if (c.normalized != null) {
                norm.put(c.text, c.normalized);
            }
            cats.computeIfAbsent(c.category, k -> new ArrayList<>()).add(c);
        }
        CASES.put(variant, cats);
        NORMALIZED.put(variant, norm);
    }

    @Parameters(name = "{0}/{1}")
    public static Collection<Object[]> categories() throws IOException {
        List<Object[]> out = new ArrayList<>();
        for (String v : VARIANTS.keySet()) {
            out.add(new Object[] {v, "(golden set)"});
            load(v);
            for (String c : CASES.get(v).keySet()) {
                out.add(new Object[] {v, c});
            }
        }
        return out;
    }

    private final String variant;
    private final String category;

    public FamilyTokenizerGoldenTest(String variant, String category) {
        this.variant = variant;
        this.category = category;
    }

    @Test
    public void matchesHuggingFace() throws Exception {
        load(variant);
        if (category.equals("(golden set)")) {
            checkGoldenSet();
            return;
        }
        PipelineTokenizer tok = TOKENIZERS.get(variant);
        Map<String, String> norm = NORMALIZED.get(variant);
        Map<Integer, Encoder> encoders = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        int n = 0;
        for (TokenizerGoldenTest.Case c : CASES.get(variant).get(category)) {
            n++;
            String wantNorm = norm.get(c.text);
            if (wantNorm != null && !wantNorm.equals(tok.normalize(c.text))) {
                failures.add("#" + c.id + " normalizer: text=" + Json.quote(TokenizerGoldenTest.abbrev(c.text)) + "\n    hf:   "
                        + Json.quote(TokenizerGoldenTest.abbrev(wantNorm)) + "\n    java: " + Json.quote(TokenizerGoldenTest.abbrev(tok.normalize(c.text))));
                continue;
            }
            Encoding e;
            try {
                e = encoders.computeIfAbsent(c.maxLength, ml -> new Encoder(tok, ml)).encode(c.text, c.pair);
            } catch (RuntimeException ex) {
                failures.add("#" + c.id + " text=" + Json.quote(TokenizerGoldenTest.abbrev(c.text)) + ": " + ex);
                continue;
            }
            if (!Arrays.equals(e.inputIds, c.ids) || !Arrays.equals(e.attentionMask, c.mask)
                    || !Arrays.equals(e.tokenTypeIds, c.types)) {
                failures.add(TokenizerGoldenTest.describe(tok::idToToken, c, e));
            }
        }
        if (!failures.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            sb.append(variant).append('/').append(category).append(": ").append(failures.size()).append(" of ")
                    .append(n).append(" cases differ from the HF fast tokenizer");
            for (int i = 0; i < Math.min(8, failures.size()); i++) {
                sb.append("\n  ").append(failures.get(i));
            }
            fail(sb.toString());
        }
        assertTrue(n > 0);
    }

    private void checkGoldenSet() throws Exception {
        Map<String, Object> meta = META.get(variant);
        Map<String, List<TokenizerGoldenTest.Case>> cats = CASES.get(variant);
        int curated = Json.asInt(meta.get("curated"), "meta.json: curated");
        int fuzz = Json.asInt(meta.get("fuzz"), "meta.json: fuzz");
        int total = 0;
        for (List<TokenizerGoldenTest.Case> l : cats.values()) total += l.size();
        assertEquals("meta.json total vs lines in tokenizer_golden.jsonl", curated + fuzz, total);
        assertTrue(variant + ": only " + total + " cases (need >= " + MIN_CASES_PER_TYPE + ")", total >= MIN_CASES_PER_TYPE);
        assertTrue(variant + ": only " + fuzz + " fuzz cases (need >= " + MIN_FUZZ + ")", fuzz >= MIN_FUZZ);
        for (String c : REQUIRED_CATEGORIES) {
            assertTrue(variant + ": golden set has no '" + c + "' cases", cats.containsKey(c));
        }
        PipelineTokenizer tok = TOKENIZERS.get(variant);
        assertEquals(variant + ": tokenizer type", VARIANTS.get(variant), meta.get("type"));
        assertEquals(variant + ": tokenizer type read from tokenizer.json", VARIANTS.get(variant), tok.type());
        assertEquals(variant + ": pad id", Json.asInt(meta.get("pad_id"), "pad_id"), tok.padId());
        try (InputStream in = new FileInputStream(new File(dir(variant), TokenizerJson.FILE))) {
            assertEquals(variant + ": tokenizer.json differs from the one the vectors were made with",
                    meta.get("tokenizer_json_sha256"), Sha256.hex(in));
        }
        assertEquals("UnicodeTables.java was generated from another tokenizers version than the golden vectors; "
                + "run android_demo/tools/gen_unicode_tables.py", meta.get("tokenizers"), BasicTokenizer.tablesVersion());
    }
}
