package org.bertedge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.bertedge.core.tokenizer.Vocab;
import org.junit.Before;
import org.junit.Test;

/** The MediaPipe (raw text in) backend's app logic: manifest field, classify, self-test. */
public class MediaPipeCoreTest {
    private Manifest manifest;
    private List<GoldenCase> golden;
    private Classifier classifier;

    /** Answers softmax of a backend's golden logits for each golden text (what MediaPipe reports). */
    static final class FakeTextBackend implements TextBackend {
        final Map<String, float[]> answers = new HashMap<>();
        boolean closed;
        float shift;

        /** Keyed by the text MediaPipe receives: the app normalizes WordPiece text first. */
        FakeTextBackend(List<GoldenCase> cases, String logitsOf, Classifier classifier) {
            for (GoldenCase c : cases) {
                double[] p = Softmax.probabilities(c.logitsFor(logitsOf));
                float[] f = new float[p.length];
                for (int i = 0; i < p.length; i++) {
                    f[i] = (float) p[i];
                }
                answers.put(classifier.mediaPipeText(c.text), f);
            }
        }

        @Override
        public String id() {
            return BackendId.MEDIAPIPE;
        }

        @Override
        public float[] scores(String text) {
            float[] v = answers.get(text);
            if (v == null) {
                return new float[] {0.25f, 0.75f};
            }
            float[] out = v.clone();
            out[0] += shift;
            out[1] -= shift;
            return out;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Before
    public void setUp() throws Exception {
        manifest = Manifest.parse(TestFiles.read("/bundle/manifest.json"));
        golden = new java.util.ArrayList<>();
        for (GoldenCase c : GoldenCase.parseForManifest(TestFiles.read("/bundle/golden.jsonl"), manifest)) {
            if (c.textPair == null) { // MediaPipe's TextClassifier takes one text
                golden.add(c);
            }
        }
        assertTrue(golden.size() >= 3);
        classifier = Classifier.forManifest(manifest, Vocab.read(TestFiles.open("/bundle/vocab.txt")));
    }

    private static String withMediapipe(String json, String backend, String mp) {
        String key = "\"backend\": \"" + backend + "\",";
        assertTrue(json.contains(key));
        return json.replace(key, key + " \"mediapipe\": " + mp + ",");
    }

    @Test
    public void noMediapipeFieldMeansNoMediapipeModel() {
        assertNull(manifest.mediapipeModel());
        assertNull(manifest.model(BackendId.TFLITE_INT8).mediapipeReady);
        assertTrue(manifest.mediapipeUnavailableReason().contains("bert-edge parity"));
    }

    @Test
    public void readyTfliteIsPicked() throws Exception {
        String json = TestFiles.read("/bundle/manifest.json");
        Manifest m = Manifest.parse(withMediapipe(json, "tflite_fp32",
                "{\"ready\": true, \"agreement_litert\": 1.0, \"max_abs_score_diff\": 1e-7, \"reason\": null}"));
        assertEquals("tflite_fp32", m.mediapipeModel().backend);
        assertNull(m.mediapipeUnavailableReason());
        // the default backend wins when it is ready too
        m = Manifest.parse(withMediapipe(withMediapipe(json, "tflite_fp32", "{\"ready\": true}"),
                "tflite_int8", "{\"ready\": true}"));
        assertEquals(m.defaultBackend, m.mediapipeModel().backend);
    }

    @Test
    public void notReadyGivesTheReason() throws Exception {
        Manifest m = Manifest.parse(withMediapipe(TestFiles.read("/bundle/manifest.json"), "tflite_int8",
                "{\"ready\": false, \"reason\": \"agrees on 90.00% of texts\"}"));
        assertNull(m.mediapipeModel());
        assertFalse(m.model("tflite_int8").mediapipeReady);
        assertTrue(m.mediapipeUnavailableReason(), m.mediapipeUnavailableReason().contains("90.00%"));
        // unchecked (ready null) parses too
        m = Manifest.parse(withMediapipe(TestFiles.read("/bundle/manifest.json"), "tflite_int8",
                "{\"ready\": null, \"reason\": \"not checked: mediapipe is not installed\"}"));
        assertNull(m.model("tflite_int8").mediapipeReady);
        assertNull(m.mediapipeModel());
    }

    @Test
    public void classifyReportsTheBackendsProbabilities() throws Exception {
        FakeTextBackend b = new FakeTextBackend(golden, "tflite_int8", classifier);
        GoldenCase c = golden.get(0);
        Prediction p = classifier.classify(b, c.text);
        double[] want = Softmax.probabilities(c.logitsFor("tflite_int8"));
        assertEquals(BackendId.MEDIAPIPE, p.backend);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], p.probabilities[i], 1e-6);
        }
        assertEquals(Softmax.argmax(c.logitsFor("tflite_int8")), p.argmax);
        assertTrue(p.encoding.length > 2);
        assertEquals(5, classifier.benchmark(b, c.text, 5).runs);
    }

    @Test
    public void selfTestAgainstTheReferenceTflite() {
        FakeTextBackend b = new FakeTextBackend(golden, "tflite_int8", classifier);
        ParityCheck.Summary s = classifier.selfTest(b, golden, "tflite_int8", Classifier.MEDIAPIPE_TOLERANCE);
        assertTrue(s.line(), s.passed);
        assertEquals(0, s.tokenMismatches);
        b.shift = 0.2f; // probabilities off by 0.2 > 0.05
        s = classifier.selfTest(b, golden, "tflite_int8", Classifier.MEDIAPIPE_TOLERANCE);
        assertFalse(s.passed);
        assertNotNull(s.reasons.get(0));
    }

    @Test
    public void mediaPipeGetsBertNormalizedTextForWordPiece() {
        // MediaPipe's WordPiece keeps accents BERT-uncased strips: the app strips them first
        assertEquals("how do you spell cliche ?", classifier.mediaPipeText("how do you spell cliché ?"));
        assertEquals("cafe naive resume", classifier.mediaPipeText("Café NAÏVE Résumé"));
        assertEquals(" 中  文 ", classifier.mediaPipeText("中文"));
    }
}
