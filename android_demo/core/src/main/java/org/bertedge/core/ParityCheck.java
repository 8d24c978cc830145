package org.bertedge.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * Compares logits computed on the device with the host's golden logits of the same backend, and
 * decides PASS/FAIL against the manifest's tolerances: every case must tokenize to the golden
 * ids, every logit must be finite and within {@code max_abs_logit_diff}, and the fraction of
 * cases whose argmax agrees must reach {@code min_argmax_agreement}.
 */
public final class ParityCheck {
    private ParityCheck() {}

    /** The comparison of one golden case. */
    public static final class CaseResult {
        public final int line;
        public final String text;
        public final boolean tokensMatch;
        /** First index where device and golden ids differ, or -1. */
        public final int firstTokenMismatch;
        public final float[] deviceLogits;
        /** Null when the golden case has no logits for the backend. */
        public final float[] referenceLogits;
        public final double maxAbsDiff;
        public final int deviceArgmax;
        public final int referenceArgmax;
        public final String error;

        CaseResult(int line, String text, int firstTokenMismatch, float[] device, float[] reference,
                   double maxAbsDiff, String error) {
            this.line = line;
            this.text = text;
            this.firstTokenMismatch = firstTokenMismatch;
            this.tokensMatch = firstTokenMismatch < 0;
            this.deviceLogits = device;
            this.referenceLogits = reference;
            this.maxAbsDiff = maxAbsDiff;
            this.deviceArgmax = device == null ? -1 : Softmax.argmax(device);
            this.referenceArgmax = reference == null ? -1 : Softmax.argmax(reference);
            this.error = error;
        }

        public boolean argmaxAgrees() {
            return error == null && deviceArgmax >= 0 && deviceArgmax == referenceArgmax;
        }
    }

    /** First index where the two id vectors differ (a length difference counts), or -1. */
    public static int firstMismatch(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return a.length == b.length ? -1 : n;
    }

    /**
     * Compare one case. {@code device} may be null when inference threw ({@code error} says why);
     * {@code reference} may be null when the golden file has no logits for the backend.
     */
    public static CaseResult compare(int line, String text, int firstTokenMismatch, float[] device,
                                     float[] reference, String error) {
        if (error == null && device == null) {
            error = "no logits";
        }
        if (error == null && reference == null) {
            error = "golden case has no logits for this backend";
        }
        if (error == null && device.length != reference.length) {
            error = "device gave " + device.length + " logits, golden has " + reference.length;
        }
        double diff = Double.NaN;
        if (error == null) {
            diff = 0;
            for (int i = 0; i < device.length; i++) {
                if (!Float.isFinite(device[i])) {
                    error = "non-finite device logit " + device[i];
                    diff = Double.POSITIVE_INFINITY;
                    break;
                }
                diff = Math.max(diff, Math.abs((double) device[i] - (double) reference[i]));
            }
        }
        return new CaseResult(line, text, firstTokenMismatch, device, reference, diff, error);
    }

    /** The verdict for one backend over all golden cases. */
    public static final class Summary {
        public final String backend;
        public final Tolerance tolerance;
        public final List<CaseResult> cases;
        public final int tokenMismatches;
        public final int errors;
        public final double maxAbsDiff;
        public final double argmaxAgreement;
        public final boolean passed;
        /** Why it failed (empty when passed). */
        public final List<String> reasons;

        Summary(String backend, Tolerance tolerance, List<CaseResult> cases, int tokenMismatches, int errors,
                double maxAbsDiff, double argmaxAgreement, List<String> reasons) {
            this.backend = backend;
            this.tolerance = tolerance;
            this.cases = Collections.unmodifiableList(cases);
            this.tokenMismatches = tokenMismatches;
            this.errors = errors;
            this.maxAbsDiff = maxAbsDiff;
            this.argmaxAgreement = argmaxAgreement;
            this.reasons = Collections.unmodifiableList(reasons);
            this.passed = reasons.isEmpty();
        }

        public String verdict() {
            return passed ? "PASS" : "FAIL";
        }

        /** One line, e.g. {@code tflite_int8: PASS 32 cases, ids 32/32, max |Δ| 0.0123 (≤ 0.1), argmax 100.0% (≥ 95.0%)}. */
        public String line() {
            int n = cases.size();
            StringBuilder sb = new StringBuilder();
            sb.append(backend).append(": ").append(verdict()).append(' ').append(n).append(" cases, ids ")
                    .append(n - tokenMismatches).append('/').append(n)
                    .append(", max |Δlogit| ").append(num(maxAbsDiff));
            if (tolerance != null) {
                sb.append(" (≤ ").append(num(tolerance.maxAbsLogitDiff)).append(")");
            }
            sb.append(String.format(Locale.ROOT, ", argmax %.1f%%", 100 * argmaxAgreement));
            if (tolerance != null) {
                sb.append(String.format(Locale.ROOT, " (≥ %.1f%%)", 100 * tolerance.minArgmaxAgreement));
            }
            if (!passed) {
                sb.append(" — ");
                for (int i = 0; i < reasons.size(); i++) {
                    sb.append(i == 0 ? "" : "; ").append(reasons.get(i));
                }
            }
            return sb.toString();
        }
    }

    /** Up to 4 significant digits, no trailing zeros, no exponent (0.0123, 0.1, 0.000015). */
    public static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.toString(v);
        }
        if (v == 0) {
            return "0";
        }
        return new java.math.BigDecimal(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
    }

    public static Summary summarize(String backend, Tolerance tol, List<CaseResult> cases) {
        List<String> reasons = new ArrayList<>();
        int mismatches = 0;
        int errors = 0;
        int agree = 0;
        double maxDiff = 0;
        String firstError = null;
        for (CaseResult c : cases) {
            if (!c.tokensMatch) {
                mismatches++;
            }
            if (c.error != null) {
                errors++;
                if (firstError == null) {
                    firstError = "line " + c.line + ": " + c.error;
                }
                maxDiff = Double.isNaN(c.maxAbsDiff) ? maxDiff : Math.max(maxDiff, c.maxAbsDiff);
                continue;
            }
            maxDiff = Math.max(maxDiff, c.maxAbsDiff);
            if (c.argmaxAgrees()) {
                agree++;
            }
        }
        double agreement = cases.isEmpty() ? 0 : agree / (double) cases.size();
        if (cases.isEmpty()) {
            reasons.add("no golden cases");
        }
        if (tol == null) {
            reasons.add("manifest.json has no tolerance for " + backend);
        }
        if (mismatches > 0) {
            reasons.add(mismatches + " case(s) tokenize differently from the host");
        }
        if (errors > 0) {
            reasons.add(errors + " case(s) failed (" + firstError + ")");
        }
        if (tol != null && maxDiff > tol.maxAbsLogitDiff) {
            reasons.add("max |Δlogit| " + num(maxDiff) + " > " + num(tol.maxAbsLogitDiff));
        }
        if (tol != null && agreement < tol.minArgmaxAgreement - 1e-12) {
            reasons.add(String.format(Locale.ROOT, "argmax agreement %.4f < %.4f", agreement, tol.minArgmaxAgreement));
        }
        return new Summary(backend, tol, cases, mismatches, errors, maxDiff, agreement, reasons);
    }
}
