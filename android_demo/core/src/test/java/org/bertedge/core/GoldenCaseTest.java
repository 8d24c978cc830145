package org.bertedge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;

import org.junit.Test;

public class GoldenCaseTest {
    @Test
    public void parsesTheFixture() throws Exception {
        Manifest m = Manifest.parse(TestFiles.read("/bundle/manifest.json"));
        List<GoldenCase> cases = GoldenCase.parseForManifest(TestFiles.read("/bundle/golden.jsonl"), m);
        assertEquals(6, cases.size());
        GoldenCase c = cases.get(0);
        assertEquals(1, c.line);
        assertEquals("I loved this movie!", c.text);
        assertNull(c.textPair);
        assertEquals(16, c.inputIds.length);
        assertArrayEquals(new float[] {-2.1f, 2.3f}, c.logitsFor("tflite_fp32"), 0f);
        assertArrayEquals(new float[] {-2.087f, 2.279f}, c.logitsFor("tflite_int8"), 0f);
        assertEquals("was unbelievable fun", cases.get(5).textPair);
        assertEquals("Café naïve déjà-vu, IT WAS GREAT", cases.get(2).text);
    }

    private static String error(String content, Manifest m) {
        try {
            if (m == null) {
                GoldenCase.parseJsonl(content, "golden.jsonl");
            } else {
                GoldenCase.parseForManifest(content, m);
            }
        } catch (BundleException e) {
            return e.getMessage();
        }
        fail("accepted");
        return null;
    }

    @Test
    public void errorsNameTheLine() {
        String ok = "{\"text\":\"a\",\"input_ids\":[1],\"attention_mask\":[1],\"token_type_ids\":[0]}";
        assertEquals("golden.jsonl:3: missing field 'text'",
                error(ok + "\n\n{\"input_ids\":[1],\"attention_mask\":[1],\"token_type_ids\":[0]}", null));
        assertTrue(error(ok + "\n{oops", null).startsWith("golden.jsonl:2: not valid JSON: line 1, column 2"));
        assertEquals("golden.jsonl:1: input_ids, attention_mask and token_type_ids differ in length (1, 2, 1)",
                error("{\"text\":\"a\",\"input_ids\":[1],\"attention_mask\":[1,0],\"token_type_ids\":[0]}", null));
        assertEquals("golden.jsonl:1: logits.x[1]: expected a number, got a string",
                error("{\"text\":\"a\",\"input_ids\":[1],\"attention_mask\":[1],\"token_type_ids\":[0],\"logits\":{\"x\":[1,\"2\"]}}", null));
    }

    @Test
    public void mustAgreeWithTheManifest() throws Exception {
        Manifest m = Manifest.parse(TestFiles.read("/bundle/manifest.json"));
        String golden = TestFiles.read("/bundle/golden.jsonl");
        String first = golden.substring(0, golden.indexOf('\n') + 1);
        assertEquals("golden.jsonl: has 1 cases, manifest.json says 6", error(first, m));
        Manifest one = Manifest.parse(TestFiles.read("/bundle/manifest.json").replace("\"count\": 6", "\"count\": 1"));
        String seventeen = first.replace("[3, 22,", "[3, 3, 22,").replace("[1, 1, 1, 1, 1, 1, 1, 0,", "[1, 1, 1, 1, 1, 1, 1, 1, 0,")
                .replace("\"token_type_ids\": [0,", "\"token_type_ids\": [0, 0,");
        assertTrue(error(seventeen, one), error(seventeen, one).contains("input_ids has 17 ids, expected max_seq_length 16"));
        assertTrue(error(first.replace("[-2.1, 2.3]", "[-2.1, 2.3, 0.0]"), one)
                .contains("logits.tflite_fp32 has 3 values, expected 2 (one per label)"));
    }
}
