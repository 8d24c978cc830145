package org.bertedge.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.Test;

public class ParityCheckTest {
    private static final Tolerance INT8 = new Tolerance(0.1, 0.95);

    private static ParityCheck.CaseResult ok(int line, float[] device, float[] ref) {
        return ParityCheck.compare(line, "t", -1, device, ref, null);
    }

    @Test
    public void passWithinTolerance() {
        List<ParityCheck.CaseResult> r = new ArrayList<>();
        r.add(ok(1, new float[] {1.05f, -1f}, new float[] {1f, -1f}));
        r.add(ok(2, new float[] {-2f, 2.02f}, new float[] {-2f, 2f}));
        ParityCheck.Summary s = ParityCheck.summarize("tflite_int8", INT8, r);
        assertTrue(s.reasons.toString(), s.passed);
        assertEquals("PASS", s.verdict());
        assertEquals(0.05, s.maxAbsDiff, 1e-6);
        assertEquals(1.0, s.argmaxAgreement, 0);
        assertTrue(s.line(), s.line().startsWith("tflite_int8: PASS 2 cases, ids 2/2, max |Δlogit| 0.05"));
    }

    @Test
    public void toleranceBreachFails() {
        List<ParityCheck.CaseResult> r = Arrays.asList(ok(1, new float[] {1.3f, -1f}, new float[] {1f, -1f}));
        ParityCheck.Summary s = ParityCheck.summarize("tflite_int8", INT8, r);
        assertFalse(s.passed);
        assertEquals(Arrays.asList("max |Δlogit| 0.3 > 0.1"), s.reasons);
        assertTrue(s.line().contains("FAIL"));
    }

    @Test
    public void argmaxDisagreementFails() {
        List<ParityCheck.CaseResult> r = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            r.add(ok(i + 1, new float[] {1f, 0f}, new float[] {1f, 0f}));
        }
        // within the logit tolerance, but the top label flips
        r.add(ok(10, new float[] {0.51f, 0.53f}, new float[] {0.55f, 0.5f}));
        ParityCheck.Summary s = ParityCheck.summarize("tflite_int8", INT8, r);
        assertEquals(0.9, s.argmaxAgreement, 1e-12);
        assertFalse(s.passed);
        assertEquals(Arrays.asList("argmax agreement 0.9000 < 0.9500"), s.reasons);
        ParityCheck.Summary lenient = ParityCheck.summarize("tflite_int8", new Tolerance(0.1, 0.9), r);
        assertTrue(lenient.passed);
    }

    @Test
    public void tokenMismatchFails() {
        List<ParityCheck.CaseResult> r = Arrays.asList(
                ParityCheck.compare(1, "t", 3, new float[] {1f}, new float[] {1f}, null));
        ParityCheck.Summary s = ParityCheck.summarize("x", INT8, r);
        assertFalse(s.passed);
        assertEquals(1, s.tokenMismatches);
        assertEquals(Arrays.asList("1 case(s) tokenize differently from the host"), s.reasons);
    }

    @Test
    public void errorsMissingReferencesAndNonFiniteFail() {
        List<ParityCheck.CaseResult> r = Arrays.asList(
                ParityCheck.compare(1, "t", -1, null, new float[] {1f}, "IllegalStateException: boom"),
                ParityCheck.compare(2, "t", -1, new float[] {1f}, null, null),
                ParityCheck.compare(3, "t", -1, new float[] {Float.NaN}, new float[] {1f}, null),
                ParityCheck.compare(4, "t", -1, new float[] {1f, 2f}, new float[] {1f}, null));
        ParityCheck.Summary s = ParityCheck.summarize("x", INT8, r);
        assertFalse(s.passed);
        assertEquals(4, s.errors);
        assertEquals("golden case has no logits for this backend", r.get(1).error);
        assertEquals("non-finite device logit NaN", r.get(2).error);
        assertEquals("device gave 2 logits, golden has 1", r.get(3).error);
        assertTrue(s.reasons.get(0), s.reasons.get(0).startsWith("4 case(s) failed (line 1: IllegalStateException: boom)"));
    }

    @Test
    public void missingToleranceAndNoCasesFail() {
        ParityCheck.Summary s = ParityCheck.summarize("ptl_int8", null, new ArrayList<ParityCheck.CaseResult>());
        assertFalse(s.passed);
        assertEquals(Arrays.asList("no golden cases", "manifest.json has no tolerance for ptl_int8"), s.reasons);
    }

    @Test
    public void firstMismatch() {
        assertEquals(-1, ParityCheck.firstMismatch(new int[] {1, 2}, new int[] {1, 2}));
        assertEquals(1, ParityCheck.firstMismatch(new int[] {1, 2}, new int[] {1, 3}));
        assertEquals(2, ParityCheck.firstMismatch(new int[] {1, 2}, new int[] {1, 2, 0}));
    }
}
