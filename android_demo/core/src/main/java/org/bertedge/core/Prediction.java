package org.bertedge.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

import org.bertedge.core.tokenizer.Encoding;

/** The result of classifying one text: logits, probabilities and labels ranked by probability. */
public final class Prediction {
    /** A label and its probability. */
    public static final class LabelScore {
        public final int index;
        public final String label;
        public final double probability;
        public final float logit;

        LabelScore(int index, String label, double probability, float logit) {
            this.index = index;
            this.label = label;
            this.probability = probability;
            this.logit = logit;
        }
    }

    public final String backend;
    public final Encoding encoding;
    public final float[] logits;
    public final double[] probabilities;
    public final int argmax;
    /** Every label, most probable first. */
    public final List<LabelScore> ranked;
    public final double latencyMs;

    public Prediction(String backend, Encoding encoding, float[] logits, List<String> labels, double latencyMs) {
        this(backend, encoding, logits, null, labels, latencyMs);
    }

    /**
     * From a runtime that reports probabilities itself (MediaPipe's scores): {@code logits} are
     * their logs, so softmax(logits) gives them back and the ranking is the same.
     */
    public static Prediction fromProbabilities(String backend, Encoding encoding, float[] probabilities,
                                               List<String> labels, double latencyMs) {
        float[] logs = new float[probabilities.length];
        double[] p = new double[probabilities.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = probabilities[i];
            logs[i] = (float) Math.log(Math.max(probabilities[i], Float.MIN_NORMAL));
        }
        return new Prediction(backend, encoding, logs, p, labels, latencyMs);
    }

    private Prediction(String backend, Encoding encoding, float[] logits, double[] probabilities, List<String> labels,
                       double latencyMs) {
        if (logits.length != labels.size()) {
            throw new IllegalArgumentException("model gave " + logits.length + " logits for " + labels.size() + " labels");
        }
        this.backend = backend;
        this.encoding = encoding;
        this.logits = logits;
        this.probabilities = probabilities != null ? probabilities : Softmax.probabilities(logits);
        this.argmax = Softmax.argmax(logits);
        List<LabelScore> r = new ArrayList<>();
        for (int i = 0; i < logits.length; i++) {
            r.add(new LabelScore(i, labels.get(i), this.probabilities[i], logits[i]));
        }
        Collections.sort(r, new Comparator<LabelScore>() {
            @Override
            public int compare(LabelScore a, LabelScore b) {
                int c = Double.compare(b.probability, a.probability);
                return c != 0 ? c : Integer.compare(a.index, b.index);
            }
        });
        this.ranked = Collections.unmodifiableList(r);
        this.latencyMs = latencyMs;
    }

    public String topLabel() {
        return ranked.get(0).label;
    }
}
