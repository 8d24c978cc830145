package org.bertedge.core;

/** Backend ids of the bundle contract (docs/ARCHITECTURE.md) and their display names. */
public final class BackendId {
    public static final String TFLITE_INT8 = "tflite_int8";
    public static final String TFLITE_FP32 = "tflite_fp32";
    public static final String TFLITE_INT8_FULL = "tflite_int8_full";
    public static final String PTL_INT8 = "ptl_int8";
    /** ExecuTorch programs (XNNPACK delegate), any sequence length up to max_seq_length. */
    public static final String PTE_INT8 = "pte_int8";
    public static final String PTE_FP32 = "pte_fp32";
    /**
     * MediaPipe Tasks' TextClassifier (raw text in, its own tokenizer) on a bundled .tflite that
     * parity marked MediaPipe-ready ({@link Manifest#mediapipeModel()}). Not a manifest model entry.
     */
    public static final String MEDIAPIPE = "mediapipe";

    /** Model file formats and the runtime that loads each. */
    public static final String FORMAT_TFLITE = "tflite";
    public static final String FORMAT_PTL = "ptl";
    public static final String FORMAT_PTE = "pte";

    private BackendId() {}

    public static String displayName(String backend) {
        switch (backend) {
            case TFLITE_INT8: return "TFLite int8";
            case TFLITE_FP32: return "TFLite fp32";
            case TFLITE_INT8_FULL: return "TFLite full int8";
            case PTL_INT8: return "PyTorch .ptl (int8)";
            case PTE_INT8: return "ExecuTorch .pte (int8)";
            case PTE_FP32: return "ExecuTorch .pte (fp32)";
            case MEDIAPIPE: return "MediaPipe Tasks (TextClassifier)";
            default: return backend;
        }
    }

    /** The format a backend's model file must have, or null for an unknown backend id. */
    public static String expectedFormat(String backend) {
        switch (backend) {
            case TFLITE_INT8:
            case TFLITE_FP32:
            case TFLITE_INT8_FULL:
                return FORMAT_TFLITE;
            case PTL_INT8:
                return FORMAT_PTL;
            case PTE_INT8:
            case PTE_FP32:
                return FORMAT_PTE;
            default:
                return null;
        }
    }
}
