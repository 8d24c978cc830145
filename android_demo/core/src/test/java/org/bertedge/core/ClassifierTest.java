package org.bertedge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;

import org.bertedge.core.tokenizer.Vocab;
import org.junit.Before;
import org.junit.Test;

/** The self-test and classify paths end to end on the fixture bundle with a fake runtime. */
public class ClassifierTest {
    private Manifest manifest;
    private List<GoldenCase> golden;
    private Classifier classifier;

    @Before
    public void setUp() throws Exception {
        manifest = Manifest.parse(TestFiles.read("/bundle/manifest.json"));
        golden = GoldenCase.parseForManifest(TestFiles.read("/bundle/golden.jsonl"), manifest);
        classifier = Classifier.forManifest(manifest, Vocab.read(TestFiles.open("/bundle/vocab.txt")));
    }

    @Test
    public void selfTestPassesEveryBackendOfTheFixture() {
        for (String backend : manifest.backends()) {
            FakeBackend b = new FakeBackend(backend, golden, backend);
            ParityCheck.Summary s = classifier.selfTest(b, golden, manifest.tolerance(backend));
            assertTrue(s.line(), s.passed);
            assertEquals(0, s.tokenMismatches);
            assertEquals(0.0, s.maxAbsDiff, 0);
            assertEquals(golden.size(), b.calls);
        }
    }

    @Test
    public void int8LogitsFailTheFp32Tolerance() {
        // the int8 model's logits judged against the fp32 golden logits: off by ~0.02 > 1e-3
        FakeBackend b = new FakeBackend("tflite_fp32", golden, "tflite_int8");
        ParityCheck.Summary s = classifier.selfTest(b, golden, manifest.tolerance("tflite_fp32"));
        assertFalse(s.passed);
        assertTrue(s.reasons.get(0), s.reasons.get(0).startsWith("max |Δlogit| 0.0"));
    }

    @Test
    public void offsetBeyondToleranceFails() {
        FakeBackend b = new FakeBackend("tflite_int8", golden, "tflite_int8");
        b.offset = 0.2f;
        assertFalse(classifier.selfTest(b, golden, manifest.tolerance("tflite_int8")).passed);
        b.offset = 0.05f;
        assertTrue(classifier.selfTest(b, golden, manifest.tolerance("tflite_int8")).passed);
    }

    @Test
    public void anExceptionFailsOnlyItsCase() {
        FakeBackend b = new FakeBackend("tflite_int8", golden, "tflite_int8");
        b.failOn = new IllegalStateException("native crash");
        ParityCheck.Summary s = classifier.selfTest(b, golden, manifest.tolerance("tflite_int8"));
        assertFalse(s.passed);
        assertEquals(1, s.errors);
        assertEquals(golden.size(), s.cases.size());
        assertEquals("IllegalStateException: native crash", s.cases.get(1).error);
    }

    @Test
    public void tokenizerDriftIsCaught() throws Exception {
        // a cased tokenizer over the same bundle tokenizes "Café ... GREAT" differently
        Manifest cased = Manifest.parse(TestFiles.read("/bundle/manifest.json")
                .replace("\"do_lower_case\": true", "\"do_lower_case\": false").replace("\"strip_accents\": true", "\"strip_accents\": false"));
        Classifier c = Classifier.forManifest(cased, Vocab.read(TestFiles.open("/bundle/vocab.txt")));
        ParityCheck.Summary s = c.selfTest(new FakeBackend("tflite_int8", golden, "tflite_int8"), golden,
                manifest.tolerance("tflite_int8"));
        assertFalse(s.passed);
        assertTrue(s.tokenMismatches >= 2);
    }

    @Test
    public void classifyRanksEveryLabel() throws Exception {
        FakeBackend b = new FakeBackend("tflite_fp32", golden, "tflite_fp32");
        Prediction p = classifier.classify(b, "I loved this movie!");
        assertEquals("positive", p.topLabel());
        assertEquals(2, p.ranked.size());
        assertEquals(1.0, p.ranked.get(0).probability + p.ranked.get(1).probability, 1e-9);
        assertEquals(0.98787, p.ranked.get(0).probability, 1e-4); // softmax([-2.1, 2.3])
        assertEquals(7, p.encoding.length);
    }

    @Test
    public void benchmarkTimesFirstRunApart() throws Exception {
        final long[] now = {0};
        final int[] tick = {0};
        Classifier.Clock clock = () -> {
            // first run takes 50 ms, then each run 2, 4, 6, ... ms
            long t = now[0];
            tick[0]++;
            now[0] += tick[0] == 1 ? 50_000_000L : (tick[0] % 2 == 1 ? (tick[0] - 1) * 1_000_000L : 0);
            return t;
        };
        Classifier c = new Classifier(classifier.encoder(), manifest.labels, clock);
        LatencyStats s = c.benchmark(new FakeBackend("tflite_int8", golden, "tflite_int8"), "I loved this movie!", 5);
        assertEquals(50.0, s.firstMs, 1e-9);
        assertEquals(5, s.runs);
        assertEquals(6.0, s.p50Ms, 1e-9); // runs: 2, 4, 6, 8, 10 ms
        assertEquals(9.2, s.p90Ms, 1e-9);
    }

    /** The fixture bundle made real-length: {@code sequence} plus [1, -1] inputs. */
    static String realLengthManifest(int context) throws Exception {
        return TestFiles.read("/bundle/manifest.json")
                .replaceAll("\\[\\s*1,\\s*16\\s*\\]", "[1, -1]")
                .replace("\"max_seq_length\": 16,", "\"max_seq_length\": 16, \"sequence\": {\"dynamic\": true, "
                        + "\"max_seq_length\": 16, \"trailing_context\": " + context + "},");
    }

    @Test
    public void realLengthBundleFeedsEachSentenceAtItsOwnLength() throws Exception {
        for (int context : new int[] {0, 1}) {
            Manifest m = Manifest.parse(realLengthManifest(context));
            Classifier c = Classifier.forManifest(m, Vocab.read(TestFiles.open("/bundle/vocab.txt")));
            FakeBackend b = new FakeBackend("tflite_int8", golden, "tflite_int8");
            ParityCheck.Summary s = c.selfTest(b, golden, m.tolerance("tflite_int8"));
            assertTrue(s.line(), s.passed); // same logits: the fake keys on the real tokens only
            Prediction p = c.classify(b, "great");
            int real = p.encoding.length;
            assertEquals(Math.min(real + context, m.maxSeqLength), b.lastLength);
            assertTrue(b.lastLength < m.maxSeqLength);
        }
        // a fixed-shape bundle still pads to max_seq_length
        FakeBackend fixed = new FakeBackend("tflite_int8", golden, "tflite_int8");
        classifier.classify(fixed, "great");
        assertEquals(manifest.maxSeqLength, fixed.lastLength);
    }
}
