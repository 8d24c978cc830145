package org.bertedge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.bertedge.core.tokenizer.BertTokenizer;
import org.bertedge.core.tokenizer.Encoding;
import org.bertedge.core.tokenizer.TextTokenizer;
import org.bertedge.core.tokenizer.Vocab;
import org.junit.Test;

/** The tokenizer a manifest names, loaded for the classifier (what ModelRepository does). */
public class BundleTokenizerTest {
    private static final String ROBERTA_JSON = "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, "
            + "\"added_tokens\": [{\"id\": 0, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false, "
            + "\"rstrip\": false, \"normalized\": false, \"special\": true}], \"normalizer\": null, "
            + "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
            + "\"use_regex\": true}, \"post_processor\": {\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], "
            + "\"cls\": [\"<s>\", 0], \"trim_offsets\": true, \"add_prefix_space\": false}, \"decoder\": null, "
            + "\"model\": {\"type\": \"BPE\", \"vocab\": {\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"h\": 3, \"i\": 4, "
            + "\"hi\": 5, \"\u0120\": 6, \"\u0120hi\": 7}, \"merges\": [\"h i\", \"\u0120 hi\"]}}";

    private static Manifest manifest(String type) throws Exception {
        String json = TestFiles.read("/bundle/manifest.json");
        if (type != null) {
            json = json.replaceFirst("\"vocab\": \\{[^}]*\\}", "\"tokenizer\": {\"type\": \"" + type
                    + "\", \"file\": \"tokenizer.json\", \"sha256\": \"" + "d".repeat(64) + "\", \"size_bytes\": 1}")
                    .replace("\"format_version\": 1", "\"format_version\": 2");
        }
        return Manifest.parse(json);
    }

    private static InputStream stream(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    public void oldBundleLoadsWordPiece() throws Exception {
        Manifest m = manifest(null);
        TextTokenizer t;
        try (InputStream in = TestFiles.open("/bundle/vocab.txt")) {
            t = BundleTokenizer.read(m, in);
        }
        assertTrue(t instanceof BertTokenizer);
        Classifier viaTokenizer = Classifier.forManifest(m, t);
        Classifier viaVocab = Classifier.forManifest(m, Vocab.read(TestFiles.open("/bundle/vocab.txt")));
        String text = "Honestly, the CAFÉ scene was unbelievable!";
        assertArrayEquals(viaVocab.encode(text, null).inputIds, viaTokenizer.encode(text, null).inputIds);
    }

    @Test
    public void bpeBundleEncodesWithItsPadAndTemplate() throws Exception {
        Manifest m = manifest("bpe");
        TextTokenizer t = BundleTokenizer.read(m, stream(ROBERTA_JSON));
        assertEquals(TextTokenizer.TYPE_BPE, t.type());
        Encoding e = Classifier.forManifest(m, t).encode("hi hi", null);
        int[] want = new int[16];
        int[] head = {0, 5, 7, 2};
        System.arraycopy(head, 0, want, 0, head.length);
        for (int i = head.length; i < want.length; i++) {
            want[i] = 1; // RoBERTa pads with <pad> = 1
        }
        assertArrayEquals(want, e.inputIds);
        assertEquals(4, e.length);
    }

    @Test
    public void typeMismatchAndBadFilesAreBundleErrors() throws Exception {
        try {
            BundleTokenizer.read(manifest("unigram"), stream(ROBERTA_JSON));
            fail("a BPE file accepted as unigram");
        } catch (BundleException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("tokenizer.json: manifest.json says the tokenizer is "
                    + "unigram, but the file holds a bpe model"));
        }
        try {
            BundleTokenizer.read(manifest("bpe"), stream("{\"model\": 1"));
            fail("broken JSON accepted");
        } catch (BundleException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("tokenizer.json: not valid JSON"));
        }
    }
}
