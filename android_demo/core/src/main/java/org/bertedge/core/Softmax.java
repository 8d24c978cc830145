package org.bertedge.core;

/** Softmax and argmax over logits. */
public final class Softmax {
    private Softmax() {}

    /** Numerically stable softmax (computed in double); all-NaN in gives NaN out. */
    public static double[] probabilities(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : logits) {
            max = Math.max(max, x);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Index of the largest value; the first on ties (numpy.argmax); -1 for an empty array. */
    public static int argmax(float[] v) {
        int best = -1;
        for (int i = 0; i < v.length; i++) {
            if (Float.isNaN(v[i])) {
                return i; // like numpy: NaN wins
            }
            if (best < 0 || v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
