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
 * Exact id parity with the Hugging Face fast tokenizer on the golden vectors written by
 * {@code scripts/gen_tokenizer_golden.py} (>= 2,000 curated cases + seeded Unicode fuzz, real
 * MiniLM vocab). One test per category; any differing id, mask or type fails. The directory comes
 * from the system property {@code bertedge.tokenizerGolden} (or env
 * {@code BERTEDGE_TOKENIZER_GOLDEN}); missing vectors FAIL, they never skip.
 */
@RunWith(Parameterized.class)
public class TokenizerGoldenTest {
    static final int MIN_CURATED = 2000;
    static final int MIN_FUZZ = 500;
    static final List<String> REQUIRED_CATEGORIES = Arrays.asList("english", "accents", "case", "cjk", "emoji",
            "astral", "control", "whitespace", "punct", "special", "long_word", "long_text", "scripts", "pairs",
            "fuzz", "mediapipe-probe");

    static final class Case {
        int id;
        String category;
        String text;
        String pair;
        int maxLength;
        int[] ids;
        int[] mask;
        int[] types;
        List<String> tokens;
        String normalized;  // the normalizer's output, where the golden set records it

        /** One line of a tokenizer_golden.jsonl (shared with FamilyTokenizerGoldenTest). */
        static Case parse(String line) {
            Json.Obj o = Json.Obj.of(Json.parse(line), "tokenizer_golden.jsonl", "");
            Case c = new Case();
            c.id = o.int32("id");
            c.category = o.string("category");
            c.text = o.string("text");
            c.pair = o.has("text_pair") ? o.string("text_pair") : null;
            c.maxLength = o.int32("max_length");
            c.ids = o.intArray("input_ids");
            c.mask = o.intArray("attention_mask");
            c.types = o.intArray("token_type_ids");
            c.tokens = o.stringList("tokens");
            c.normalized = o.has("normalized") ? o.string("normalized") : null;
            return c;
        }
    }

    private static Map<String, List<Case>> byCategory;
    private static Map<String, Object> meta;
    private static Vocab vocab;
    private static File dir;

    static File goldenDir() {
        String p = System.getProperty("bertedge.tokenizerGolden");
        if (p == null || p.isEmpty()) {
            p = System.getenv("BERTEDGE_TOKENIZER_GOLDEN");
        }
        if (p == null || p.isEmpty()) {
            throw new AssertionError("tokenizer golden vectors not configured: set -Dbertedge.tokenizerGolden=DIR "
                    + "(android_demo/host-tests.sh generates them with scripts/gen_tokenizer_golden.py)");
        }
        File d = new File(p);
        if (!new File(d, "tokenizer_golden.jsonl").isFile()) {
            throw new AssertionError("tokenizer golden vectors missing: " + new File(d, "tokenizer_golden.jsonl")
                    + " (generate them with android_demo/host-tests.sh or scripts/gen_tokenizer_golden.py)");
        }
        return d;
    }

    static synchronized void load() throws IOException {
        if (byCategory != null) {
            return;
        }
        dir = goldenDir();
        try (InputStream in = new FileInputStream(new File(dir, "vocab.txt"))) {
            vocab = Vocab.read(in);
        }
        meta = Json.parseObject(new String(Files.readAllBytes(new File(dir, "meta.json").toPath()), StandardCharsets.UTF_8));
        Map<String, List<Case>> cats = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(new File(dir, "tokenizer_golden.jsonl").toPath(), StandardCharsets.UTF_8);
        for (String line : lines) {
            if (line.isEmpty()) continue;
            Case c = Case.parse(line);
            cats.computeIfAbsent(c.category, k -> new ArrayList<>()).add(c);
        }
        byCategory = cats;
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> categories() throws IOException {
        load();
        List<Object[]> out = new ArrayList<>();
        out.add(new Object[] {"(golden set)"});
        for (String c : byCategory.keySet()) {
            out.add(new Object[] {c});
        }
        return out;
    }

    private final String category;

    public TokenizerGoldenTest(String category) {
        this.category = category;
    }

    @Test
    public void matchesHuggingFace() throws Exception {
        load();
        if (category.equals("(golden set)")) {
            checkGoldenSet();
            return;
        }
        BertTokenizer tok = BertTokenizer.uncased(vocab);
        Map<Integer, Encoder> encoders = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        int n = 0;
        for (Case c : byCategory.get(category)) {
            n++;
            Encoder enc = encoders.computeIfAbsent(c.maxLength, ml -> new Encoder(tok, ml));
            Encoding e = enc.encode(c.text, c.pair);
            if (!Arrays.equals(e.inputIds, c.ids) || !Arrays.equals(e.attentionMask, c.mask)
                    || !Arrays.equals(e.tokenTypeIds, c.types)) {
                failures.add(describe(vocab::token, c, e));
            }
        }
        if (!failures.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            sb.append(category).append(": ").append(failures.size()).append(" of ").append(n)
                    .append(" cases differ from the HF fast tokenizer");
            for (int i = 0; i < Math.min(8, failures.size()); i++) {
                sb.append("\n  ").append(failures.get(i));
            }
            fail(sb.toString());
        }
        assertTrue(n > 0);
    }

    /** One differing case, for the failure message (shared with FamilyTokenizerGoldenTest). */
    static String describe(java.util.function.IntFunction<String> idToToken, Case c, Encoding e) {
        List<String> got = new ArrayList<>();
        for (int i = 0; i < e.length; i++) {
            got.add(idToToken.apply(e.inputIds[i]));
        }
        String s = "#" + c.id + " text=" + Json.quote(abbrev(c.text)) + (c.pair == null ? "" : " pair=" + Json.quote(abbrev(c.pair)))
                + " max_length=" + c.maxLength;
        if (!Arrays.equals(e.inputIds, c.ids)) {
            int k = 0;
            while (k < c.ids.length && k < e.inputIds.length && c.ids[k] == e.inputIds[k]) k++;
            return s + "\n    first differing id at " + k + "\n    hf:   " + c.tokens + "\n    java: " + got;
        }
        return s + "\n    ids equal, mask/types differ: hf mask " + Arrays.toString(c.mask) + " java "
                + Arrays.toString(e.attentionMask) + " hf types " + Arrays.toString(c.types) + " java "
                + Arrays.toString(e.tokenTypeIds);
    }

    static String abbrev(String s) {
        return s.length() <= 160 ? s : s.substring(0, 160) + "…(" + s.length() + " chars)";
    }

    private void checkGoldenSet() throws Exception {
        int curated = Json.asInt(meta.get("curated"), "meta.json: curated");
        int fuzz = Json.asInt(meta.get("fuzz"), "meta.json: fuzz");
        int total = 0;
        for (List<Case> l : byCategory.values()) total += l.size();
        assertEquals("meta.json total vs lines in tokenizer_golden.jsonl", curated + fuzz, total);
        assertTrue("only " + curated + " curated golden cases (need >= " + MIN_CURATED + ")", curated >= MIN_CURATED);
        assertTrue("only " + fuzz + " fuzz cases (need >= " + MIN_FUZZ + ")", fuzz >= MIN_FUZZ);
        for (String c : REQUIRED_CATEGORIES) {
            assertTrue("golden set has no '" + c + "' cases", byCategory.containsKey(c));
        }
        try (InputStream in = new FileInputStream(new File(dir, "vocab.txt"))) {
            assertEquals("vocab.txt differs from the one the vectors were made with", meta.get("vocab_sha256"), Sha256.hex(in));
        }
        assertEquals("vocab size", Json.asInt(meta.get("vocab_size"), "vocab_size"), vocab.size());
        assertEquals("UnicodeTables.java was generated from another tokenizers version than the golden vectors; "
                        + "run android_demo/tools/gen_unicode_tables.py",
                meta.get("tokenizers"), BasicTokenizer.tablesVersion());
    }
}
