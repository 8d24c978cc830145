package org.bertedge.core;

import java.util.List;

import org.bertedge.core.tokenizer.BertTokenizer;
import org.bertedge.core.tokenizer.Encoder;
import org.bertedge.core.tokenizer.Encoding;
import org.bertedge.core.tokenizer.TextTokenizer;
import org.bertedge.core.tokenizer.Vocab;

/**
 * Text → {@link Prediction} on a {@link Backend}: the on-device path the UI and the self-test
 * share (tokenize with the bundle's tokenizer, run, softmax).
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
    /** -1: feed max_seq_length (a fixed-shape bundle); else the trailing context of real length. */
    private final int realLengthContext;

    /** A classifier that pads every input to the encoder's max length. */
    public Classifier(Encoder encoder, List<String> labels, Clock clock) {
        this(encoder, labels, clock, -1);
    }

    /**
     * realLengthContext >= 0: models take real-length inputs ({@link RealLength}); -1: they take
     * exactly the encoder's max length.
     */
    public Classifier(Encoder encoder, List<String> labels, Clock clock, int realLengthContext) {
        this.encoder = encoder;
        this.labels = labels;
        this.clock = clock;
        this.realLengthContext = realLengthContext;
    }

    /** A WordPiece classifier over the bundle's vocabulary, with the manifest's casing. */
    public static Classifier forManifest(Manifest m, Vocab vocab) {
        return forManifest(m, new BertTokenizer(vocab, m.doLowerCase, m.stripAccents));
    }

    /** The encoder a manifest asks for (max length, real length) over the bundle's tokenizer. */
    public static Classifier forManifest(Manifest m, TextTokenizer tokenizer) {
        return new Classifier(new Encoder(tokenizer, m.maxSeqLength), m.labels, SYSTEM_CLOCK,
                m.dynamicLength ? m.trailingContext : -1);
    }

    /** What a backend is fed for this encoding: cut to real length when the bundle allows it. */
    public Encoding feed(Encoding e) {
        return realLengthContext < 0 ? e : RealLength.cut(e, realLengthContext);
    }

    private float[] run(Backend backend, Encoding e) throws Exception {
        Encoding f = feed(e);
        return backend.logits(f.inputIds, f.attentionMask, f.tokenTypeIds);
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
        float[] logits = run(backend, e);
        double ms = (clock.nanoTime() - t0) / 1e6;
        return new Prediction(backend.id(), e, logits, labels, ms);
    }

    /**
     * Text → {@link Prediction} on a runtime that tokenizes by itself (MediaPipe). The text is
     * also encoded here, only to show its token count.
     */
    public Prediction classify(TextBackend backend, String text) throws Exception {
        Encoding e = encoder.encode(text, null);
        long t0 = clock.nanoTime();
        float[] scores = backend.scores(mediaPipeText(text));
        double ms = (clock.nanoTime() - t0) / 1e6;
        return Prediction.fromProbabilities(backend.id(), e, scores, labels, ms);
    }

    /**
     * The text MediaPipe's TextClassifier must get to see the bundle's token ids. Its WordPiece
     * lower-cases but keeps accents that BERT-uncased strips ({@code cliché} became other ids:
     * a score off by 0.98), and the metadata cannot say so: a WordPiece bundle's text goes
     * through BERT's normalizer first, exactly as the host's parity check does
     * ({@code converters/mediapipe_text.mediapipe_input}). SentencePiece models need nothing:
     * MediaPipe applies the .model's own normalizer.
     */
    public String mediaPipeText(String text) {
        if (encoder.tokenizer() instanceof BertTokenizer) {
            return ((BertTokenizer) encoder.tokenizer()).basic().normalize(text);
        }
        return text;
    }

    /** Latency of a text backend (tokenization included: it is part of what MediaPipe runs). */
    public LatencyStats benchmark(TextBackend backend, String text, int runs) throws Exception {
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be >= 1, got " + runs);
        }
        String input = mediaPipeText(text);
        long t0 = clock.nanoTime();
        backend.scores(input);
        double first = (clock.nanoTime() - t0) / 1e6;
        double[] times = new double[runs];
        for (int i = 0; i < runs; i++) {
            long s = clock.nanoTime();
            backend.scores(input);
            times[i] = (clock.nanoTime() - s) / 1e6;
        }
        return LatencyStats.of(first, times);
    }

    /**
     * Tolerance of the MediaPipe self-test, on probabilities: the same .tflite on the same
     * kernels differs only where MediaPipe's tokenizer splits a text differently from ours.
     */
    public static final Tolerance MEDIAPIPE_TOLERANCE = new Tolerance(0.05, 0.95);

    /**
     * The self-test of a text backend: each golden case's raw text through {@code backend}, its
     * scores compared with softmax of the host logits of {@code referenceBackend} (the .tflite it
     * runs, on the host's LiteRT). No token ids to compare: MediaPipe tokenizes inside.
     */
    public ParityCheck.Summary selfTest(TextBackend backend, List<GoldenCase> cases, String referenceBackend,
                                        Tolerance tol) {
        List<ParityCheck.CaseResult> results = new java.util.ArrayList<>();
        for (GoldenCase c : cases) {
            float[] device = null;
            String error = null;
            float[] host = c.logitsFor(referenceBackend);
            float[] reference = null;
            if (host != null) {
                double[] p = Softmax.probabilities(host);
                reference = new float[p.length];
                for (int i = 0; i < p.length; i++) {
                    reference[i] = (float) p[i];
                }
            }
            try {
                if (c.textPair != null) {
                    throw new UnsupportedOperationException("MediaPipe's TextClassifier takes one text, not a pair");
                }
                device = backend.scores(mediaPipeText(c.text));
            } catch (Exception ex) {
                error = ex.getClass().getSimpleName() + ": " + ex.getMessage();
            }
            results.add(ParityCheck.compare(c.line, c.text, -1, device, reference, error));
        }
        return ParityCheck.summarize(backend.id(), tol, results);
    }

    /**
     * Latency of {@code backend} on {@code text}: one first run, then {@code runs} timed runs
     * (inputs encoded once, outside the timing).
     */
    public LatencyStats benchmark(Backend backend, String text, int runs) throws Exception {
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be >= 1, got " + runs);
        }
        Encoding e = feed(encoder.encode(text, null));
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
                device = run(backend, e);
            } catch (Exception ex) {
                error = ex.getClass().getSimpleName() + ": " + ex.getMessage();
            }
            results.add(ParityCheck.compare(c.line, c.text, mismatch, device, c.logitsFor(backend.id()), error));
        }
        return ParityCheck.summarize(backend.id(), tol, results);
    }
}
