package org.bertedge.core;

/** Parity tolerances of one backend, from manifest.json's {@code tolerances}. */
public final class Tolerance {
    /** Largest allowed |device logit − host logit| over all golden cases and labels. */
    public final double maxAbsLogitDiff;
    /** Smallest allowed fraction of golden cases whose argmax equals the host's. */
    public final double minArgmaxAgreement;

    public Tolerance(double maxAbsLogitDiff, double minArgmaxAgreement) {
        if (!(maxAbsLogitDiff >= 0) || Double.isInfinite(maxAbsLogitDiff)) {
            throw new IllegalArgumentException("max_abs_logit_diff must be a finite number >= 0, got " + maxAbsLogitDiff);
        }
        if (!(minArgmaxAgreement >= 0 && minArgmaxAgreement <= 1)) {
            throw new IllegalArgumentException("min_argmax_agreement must be in [0, 1], got " + minArgmaxAgreement);
        }
        this.maxAbsLogitDiff = maxAbsLogitDiff;
        this.minArgmaxAgreement = minArgmaxAgreement;
    }

    @Override
    public String toString() {
        return "max |Δlogit| ≤ " + maxAbsLogitDiff + ", argmax agreement ≥ " + minArgmaxAgreement;
    }
}
