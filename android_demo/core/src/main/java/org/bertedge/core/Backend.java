package org.bertedge.core;

/**
 * One loaded model on one runtime (LiteRT, PyTorch Lite, or a fake in tests). Inputs are the
 * three int32 vectors of length max_seq_length (batch 1); the output is one logit per label.
 * Implementations need not be thread-safe: call from one thread at a time.
 */
public interface Backend extends AutoCloseable {
    /** Backend id from the manifest, e.g. {@code tflite_int8}. */
    String id();

    float[] logits(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) throws Exception;

    /**
     * {@code logits} when it holds one value per label; otherwise an IllegalStateException naming
     * the backend. For runtimes whose output shape is only known after a run (PyTorch Lite,
     * ExecuTorch); LiteRT checks the output tensor's shape when the model opens.
     */
    static float[] requireOnePerLabel(String id, float[] logits, int numLabels) {
        if (logits.length != numLabels) {
            throw new IllegalStateException(id + ": model returned " + logits.length + " logits, expected " + numLabels);
        }
        return logits;
    }

    /** Release native memory; the backend is unusable afterwards. */
    @Override
    void close();
}
