package org.bertedge.core;

import java.util.List;

import org.bertedge.core.tokenizer.BertTokenizer;
import org.bertedge.core.tokenizer.Encoder;
import org.bertedge.core.tokenizer.Encoding;
import org.bertedge.core.tokenizer.Vocab;

/**
 * Text → {@link Prediction} on a {@link Backend}: the on-device path the UI and the self-test
 * share (tokenize with the bundle's vocab and the manifest's casing, run, softmax).
 */
public final class Classifier {
    /** Time source, injectable for tests. */
    public interface Clock {
        long nanoTime();
    }

    public static final Clock SYSTEM_CLOCK = new Clock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }
    };

    private final Encoder encoder;
    private final List<String> labels;
    private final Clock clock;

    public Classifier(Encoder encoder, List<String> labels, Clock clock) {
        this.encoder = encoder;
        this.labels = labels;
        this.clock = clock;
    }

    /** The tokenizer/encoder a manifest asks for, over the bundle's vocabulary. */
    public static Classifier forManifest(Manifest m, Vocab vocab) {
        BertTokenizer tok = new BertTokenizer(vocab, m.doLowerCase, m.stripAccents);
        return new Classifier(new Encoder(tok, m.maxSeqLength), m.labels, SYSTEM_CLOCK);
    }

    public Encoder encoder() {
        return encoder;
    }

    public List<String> labels() {
        return labels;
    }

    public Encoding encode(String text, String pair) {
        return encoder.encode(text, pair);
    }

    public Prediction classify(Backend backend, String text) throws Exception {
        return classify(backend, text, null);
    }

    public Prediction classify(Backend backend, String text, String pair) throws Exception {
        Encoding e = encoder.encode(text, pair);
        long t0 = clock.nanoTime();
        float[] logits = backend.logits(e.inputIds, e.attentionMask, e.tokenTypeIds);
        double ms = (clock.nanoTime() - t0) / 1e6;
        return new Prediction(backend.id(), e, logits, labels, ms);
    }

    /**
     * Latency of {@code backend} on {@code text}: one first run, then {@code runs} timed runs
     * (inputs encoded once, outside the timing).
     */
    public LatencyStats benchmark(Backend backend, String text, int runs) throws Exception {
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be >= 1, got " + runs);
        }
        Encoding e = encoder.encode(text, null);
        long t0 = clock.nanoTime();
        backend.logits(e.inputIds, e.attentionMask, e.tokenTypeIds);
        double first = (clock.nanoTime() - t0) / 1e6;
        double[] times = new double[runs];
        for (int i = 0; i < runs; i++) {
            long s = clock.nanoTime();
            backend.logits(e.inputIds, e.attentionMask, e.tokenTypeIds);
            times[i] = (clock.nanoTime() - s) / 1e6;
        }
        return LatencyStats.of(first, times);
    }

    /**
     * The self-test of one backend: every golden case is tokenized here (ids compared with the
     * host's), run through {@code backend}, and compared with the host logits of that backend.
     * An exception in one case is recorded as that case's error; the others still run.
     */
    public ParityCheck.Summary selfTest(Backend backend, List<GoldenCase> cases, Tolerance tol) {
        List<ParityCheck.CaseResult> results = new java.util.ArrayList<>();
        for (GoldenCase c : cases) {
            Encoding e = encoder.encode(c.text, c.textPair);
            int mismatch = ParityCheck.firstMismatch(e.inputIds, c.inputIds);
            if (mismatch < 0) {
                mismatch = ParityCheck.firstMismatch(e.attentionMask, c.attentionMask);
            }
            if (mismatch < 0) {
                mismatch = ParityCheck.firstMismatch(e.tokenTypeIds, c.tokenTypeIds);
            }
            float[] device = null;
            String error = null;
            try {
                device = backend.logits(e.inputIds, e.attentionMask, e.tokenTypeIds);
            } catch (Exception ex) {
                error = ex.getClass().getSimpleName() + ": " + ex.getMessage();
            }
            results.add(ParityCheck.compare(c.line, c.text, mismatch, device, c.logitsFor(backend.id()), error));
        }
        return ParityCheck.summarize(backend.id(), tol, results);
    }
}
