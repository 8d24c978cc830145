package org.bertedge.core;

/**
 * A runtime that takes raw text and tokenizes it itself: MediaPipe Tasks' {@code TextClassifier}
 * on a .tflite carrying Model Metadata (vocab, labels). Returns one score per label, in label
 * order; for bert-edge files these are probabilities (the file's {@code probabilities} output,
 * head 0). Implementations need not be thread-safe: call from one thread at a time.
 */
public interface TextBackend extends AutoCloseable {
    /** Backend id shown in the UI and the self-test, e.g. {@code mediapipe}. */
    String id();

    /** Score per label index for one text. */
    float[] scores(String text) throws Exception;

    /** Release native memory; the backend is unusable afterwards. */
    @Override
    void close();
}
