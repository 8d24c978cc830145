package org.bertedge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;

import org.junit.Test;

public class ManifestTest {
    private static String fixture() throws Exception {
        return TestFiles.read("/bundle/manifest.json");
    }

    private static String expectError(String json) {
        try {
            Manifest.parse(json);
        } catch (BundleException e) {
            return e.getMessage();
        }
        fail("manifest accepted");
        return null;
    }

    @Test
    public void parsesTheFixture() throws Exception {
        Manifest m = Manifest.parse(fixture());
        assertEquals(1, m.formatVersion);
        assertEquals(Arrays.asList("negative", "positive"), m.labels);
        assertEquals(16, m.maxSeqLength);
        assertTrue(m.doLowerCase);
        assertTrue(m.stripAccents);
        assertEquals("vocab.txt", m.vocab.file);
        assertEquals(Arrays.asList("tflite_int8", "tflite_fp32", "ptl_int8"), m.backends());
        assertEquals("model_int8.ptl", m.model("ptl_int8").file);
        assertEquals("ptl", m.model("ptl_int8").format);
        assertEquals(14500000L, m.model("tflite_int8").sizeBytes);
        assertEquals("tflite_int8", m.defaultBackend);
        assertEquals(0.1, m.tolerance("tflite_int8").maxAbsLogitDiff, 0);
        assertEquals(1.0, m.tolerance("tflite_fp32").minArgmaxAgreement, 0);
        assertEquals("golden.jsonl", m.goldenFile);
        assertEquals(6, m.goldenCount);
        assertEquals(3, m.inputs.size());
        assertEquals("logits", m.outputs.get(0).name);
    }

    @Test
    public void minimalContractManifestParses() throws Exception {
        // the example of docs/ARCHITECTURE.md: no strip_accents, no default_backend, one model
        String json = "{\"format_version\": 1, \"pipeline_version\": \"0.1.0\", \"teacher\": \"minilm\", "
                + "\"student\": \"tinybert-4l-312d\", \"labels\": [\"negative\", \"positive\"], \"max_seq_length\": 128, "
                + "\"do_lower_case\": true, \"vocab\": {\"file\": \"vocab.txt\", \"sha256\": \"" + hex('a') + "\", \"size_bytes\": 231508}, "
                + "\"inputs\": [{\"name\": \"input_ids\", \"dtype\": \"int32\", \"shape\": [1, 128]}, "
                + "{\"name\": \"attention_mask\", \"dtype\": \"int32\", \"shape\": [1, 128]}, "
                + "{\"name\": \"token_type_ids\", \"dtype\": \"int32\", \"shape\": [1, 128]}], "
                + "\"outputs\": [{\"name\": \"logits\", \"dtype\": \"float32\", \"shape\": [1, 2]}], "
                + "\"models\": [{\"backend\": \"tflite_int8\", \"file\": \"model_int8.tflite\", \"format\": \"tflite\", "
                + "\"sha256\": \"" + hex('b') + "\", \"size_bytes\": 14500000}], "
                + "\"tolerances\": {\"tflite_int8\": {\"max_abs_logit_diff\": 0.05, \"min_argmax_agreement\": 1.0}}, "
                + "\"golden\": {\"file\": \"golden.jsonl\", \"count\": 32}}";
        Manifest m = Manifest.parse(json);
        assertTrue(m.stripAccents); // follows do_lower_case
        assertEquals("tflite_int8", m.defaultBackend);
        assertNull(m.tolerance("ptl_int8"));
        assertEquals(128, m.maxSeqLength);
    }

    private static String hex(char c) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 64; i++) sb.append(c);
        return sb.toString();
    }

    @Test
    public void missingFieldIsNamed() throws Exception {
        String json = fixture().replace("\"labels\"", "\"labelz\"");
        assertEquals("manifest.json: missing field 'labels'", expectError(json));
        String noSha = fixture().replaceFirst("\"sha256\": \"[0-9a-f]{64}\",", "");
        assertEquals("manifest.json: vocab: missing field 'sha256'", expectError(noSha));
    }

    @Test
    public void unsupportedVersionIsClear() throws Exception {
        String msg = expectError(fixture().replace("\"format_version\": 1", "\"format_version\": 3"));
        assertTrue(msg, msg.startsWith("manifest.json: format_version 3 is not supported (this app reads versions 1 to 2)"));
        msg = expectError(fixture().replace("\"format_version\": 1", "\"format_version\": 0"));
        assertTrue(msg, msg.startsWith("manifest.json: format_version 0 is not supported"));
        msg = expectError(fixture().replace("\"format_version\": 1", "\"format_version\": \"1\""));
        assertEquals("manifest.json: format_version: expected an integer, got a string", msg);
    }

    @Test
    public void malformedJsonIsClear() {
        String msg = expectError("{\"format_version\": 1,,}");
        assertTrue(msg, msg.startsWith("manifest.json: not valid JSON: line 1, column 22"));
        assertTrue(expectError("[]").startsWith("manifest.json: expected an object"));
    }

    @Test
    public void shapesMustMatchTheContract() throws Exception {
        String msg = expectError(fixture().replaceFirst("\"shape\": \\[\\s*1,\\s*16\\s*\\]", "\"shape\": [1, 32]"));
        assertTrue(msg, msg.contains("input_ids has shape [1, 32], expected [1, 16]"));
        msg = expectError(fixture().replaceFirst("\"dtype\": \"int32\"", "\"dtype\": \"int64\""));
        assertTrue(msg, msg.contains("has dtype int64, the app feeds int32"));
        msg = expectError(fixture().replace("\"negative\",", "\"negative\", \"neutral\","));
        assertTrue(msg, msg.contains("logits has shape [1, 2], expected [1, 3]"));
    }

    @Test
    public void modelEntriesAreValidated() throws Exception {
        String msg = expectError(fixture().replace("\"backend\": \"ptl_int8\"", "\"backend\": \"onnx\""));
        assertTrue(msg, msg.startsWith("manifest.json: models[2]: unknown backend 'onnx'"));
        msg = expectError(fixture().replace("\"format\": \"ptl\"", "\"format\": \"tflite\""));
        assertTrue(msg, msg.contains("backend ptl_int8 needs format 'ptl'"));
        msg = expectError(fixture().replace("\"file\": \"model_int8.ptl\"", "\"file\": \"../model_int8.ptl\""));
        assertTrue(msg, msg.contains("must be a plain file name"));
        msg = expectError(fixture().replace("\"default_backend\": \"tflite_int8\"", "\"default_backend\": \"x\""));
        assertTrue(msg, msg.contains("default_backend 'x' is not one of the bundled models"));
    }

    @Test
    public void badChecksumFormatIsRejected() throws Exception {
        String msg = expectError(fixture().replaceFirst("\"sha256\": \"[0-9a-f]{64}\"", "\"sha256\": \"ABC\""));
        assertEquals("manifest.json: vocab: sha256 must be 64 lowercase hex digits, got 'ABC'", msg);
    }

    @Test
    public void badToleranceIsRejected() throws Exception {
        String msg = expectError(fixture().replace("\"min_argmax_agreement\": 0.95", "\"min_argmax_agreement\": 1.5"));
        assertTrue(msg, msg.startsWith("manifest.json: tolerances.tflite_int8: min_argmax_agreement must be in [0, 1]"));
    }

    @Test
    public void casedBundle() throws Exception {
        Manifest m = Manifest.parse(fixture().replace("\"do_lower_case\": true", "\"do_lower_case\": false")
                .replace("\"strip_accents\": true,", ""));
        assertFalse(m.doLowerCase);
        assertFalse(m.stripAccents);
    }

    @Test
    public void realLengthSequenceIsRead() throws Exception {
        Manifest m = Manifest.parse(ClassifierTest.realLengthManifest(1));
        assertTrue(m.dynamicLength);
        assertEquals(1, m.trailingContext);
        assertEquals(16, m.maxSeqLength);
        Manifest fixed = Manifest.parse(fixture());
        assertFalse(fixed.dynamicLength);
        assertEquals(0, fixed.trailingContext);
    }

    @Test
    public void dynamicShapesNeedTheSequenceEntryAndViceVersa() throws Exception {
        String dynamicShapesOnly = fixture().replaceAll("\\[\\s*1,\\s*16\\s*\\]", "[1, -1]");
        assertTrue(expectError(dynamicShapesOnly).contains("expected [1, 16]"));
        String sequenceOnly = fixture().replace("\"max_seq_length\": 16,",
                "\"max_seq_length\": 16, \"sequence\": {\"dynamic\": true, \"trailing_context\": 0},");
        assertTrue(expectError(sequenceOnly).contains("expected [1, -1]"));
        String otherMax = ClassifierTest.realLengthManifest(0).replace("\"max_seq_length\": 16, \"trailing_context\"",
                "\"max_seq_length\": 32, \"trailing_context\"");
        assertTrue(expectError(otherMax).contains("differs"));
    }

    /** The fixture (a format 1 bundle) with its "vocab" swapped for a "tokenizer" entry. */
    private static String withTokenizer(String entry) throws Exception {
        return fixture().replaceFirst("\"vocab\": \\{[^}]*\\}", "\"tokenizer\": " + entry);
    }

    private static String tokenizerEntry(String type, String file) {
        return "{\"type\": \"" + type + "\", \"file\": \"" + file + "\", \"sha256\": \"" + hex('c')
                + "\", \"size_bytes\": 1234}";
    }

    @Test
    public void bundleWithoutTokenizerKeyIsWordPiece() throws Exception {
        Manifest m = Manifest.parse(fixture());
        assertEquals(Manifest.TokenizerEntry.WORDPIECE, m.tokenizer.type);
        assertEquals("vocab.txt", m.tokenizer.file.file);
        assertTrue(m.tokenizer.file == m.vocab);
        assertNull(m.tokenizer.padId);
    }

    @Test
    public void bpeAndUnigramBundles() throws Exception {
        for (String type : new String[] {"bpe", "unigram"}) {
            Manifest m = Manifest.parse(withTokenizer(tokenizerEntry(type, "tokenizer.json"))
                    .replace("\"format_version\": 1", "\"format_version\": 2")
                    .replace("\"do_lower_case\": true,", "").replace("\"strip_accents\": true,", ""));
            assertEquals(2, m.formatVersion);
            assertEquals(type, m.tokenizer.type);
            assertEquals("tokenizer.json", m.tokenizer.file.file);
            assertEquals(hex('c'), m.tokenizer.file.sha256);
            assertEquals(1234L, m.tokenizer.file.sizeBytes);
            assertNull(m.vocab);
            assertFalse(m.doLowerCase); // the normalizer is in tokenizer.json
        }
        Manifest m = Manifest.parse(withTokenizer("{\"type\": \"unigram\", \"file\": \"tokenizer.json\", \"sha256\": \""
                + hex('c') + "\", \"size_bytes\": 1, \"pad_id\": 1, \"unigram_scores\": \"serde_json\"}"));
        assertEquals(Integer.valueOf(1), m.tokenizer.padId);
        assertEquals("serde_json", m.tokenizer.unigramScores);
    }

    @Test
    public void wordPieceBundleWithBothKeys() throws Exception {
        String vocab = "{\"file\": \"vocab.txt\", \"sha256\": \"b20e8f69e5b996aefda77b4a3aad9aa6fb04ccdd0494df17224961b1d7419ecc\", "
                + "\"size_bytes\": 226}";
        String both = fixture().replace("\"inputs\":", "\"tokenizer\": {\"type\": \"wordpiece\", \"file\": \"vocab.txt\", "
                + "\"sha256\": \"b20e8f69e5b996aefda77b4a3aad9aa6fb04ccdd0494df17224961b1d7419ecc\", \"size_bytes\": 226}, \"inputs\":");
        Manifest m = Manifest.parse(both);
        assertEquals("wordpiece", m.tokenizer.type);
        assertEquals("vocab.txt", m.vocab.file);
        String msg = expectError(both.replace("\"type\": \"wordpiece\", \"file\": \"vocab.txt\"",
                "\"type\": \"wordpiece\", \"file\": \"other.txt\""));
        assertTrue(msg, msg.startsWith("manifest.json: tokenizer: names other.txt but vocab names vocab.txt"));
        assertTrue(vocab.length() > 0);
        // WordPiece still needs its casing
        msg = expectError(withTokenizer(tokenizerEntry("wordpiece", "vocab.txt")).replace("\"do_lower_case\": true,", ""));
        assertEquals("manifest.json: missing field 'do_lower_case'", msg);
    }

    @Test
    public void badTokenizerEntriesAreNamed() throws Exception {
        String msg = expectError(withTokenizer(tokenizerEntry("sentencepiece-bpe", "tokenizer.json")));
        assertTrue(msg, msg.startsWith("manifest.json: tokenizer: type 'sentencepiece-bpe' is not supported"));
        msg = expectError(withTokenizer(tokenizerEntry("bpe", "../tokenizer.json")));
        assertTrue(msg, msg.contains("must be a plain file name"));
        msg = expectError(withTokenizer(tokenizerEntry("bpe", "tokenizer.json").replace("}", ", \"unigram_scores\": \"fast\"}")));
        assertTrue(msg, msg.contains("unigram_scores must be"));
        msg = expectError(withTokenizer(tokenizerEntry("bpe", "tokenizer.json").replace("}", ", \"pad_id\": -1}")));
        assertTrue(msg, msg.contains("pad_id must be >= 0"));
        msg = expectError(fixture().replaceFirst("\"vocab\": \\{[^}]*\\},", ""));
        assertEquals("manifest.json: missing field 'vocab'", msg);
    }
}
