package org.bertedge.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bertedge.core.json.Json;
import org.bertedge.core.json.JsonException;

/**
 * {@code manifest.json} of the app bundle (docs/ARCHITECTURE.md, "App bundle contract"), parsed
 * and validated. Every problem becomes a {@link BundleException} with a one-line message naming
 * the field, e.g. {@code manifest.json: missing field 'labels'}.
 */
public final class Manifest {
    public static final String FILE = "manifest.json";
    /**
     * Newest format this app reads. 1: WordPiece bundles (vocab.txt; "tokenizer" optional);
     * 2: bundles whose "tokenizer" is byte-level BPE or SentencePiece Unigram (tokenizer.json).
     */
    public static final int FORMAT_VERSION = 2;
    public static final int MIN_FORMAT_VERSION = 1;
    public static final List<String> INPUT_NAMES =
            Collections.unmodifiableList(Arrays.asList("input_ids", "attention_mask", "token_type_ids"));
    public static final String OUTPUT_NAME = "logits";

    /** A file of the bundle with its checksum. */
    public static final class FileEntry {
        public final String file;
        public final String sha256;
        public final long sizeBytes;

        FileEntry(String file, String sha256, long sizeBytes) {
            this.file = file;
            this.sha256 = sha256;
            this.sizeBytes = sizeBytes;
        }
    }

    /**
     * The tokenizer of the bundle ("tokenizer" in manifest.json): its {@link #type} says how to
     * read {@link #file}. A manifest without the key (format 1, before byte-level BPE and
     * Unigram) means WordPiece from its "vocab" entry.
     */
    public static final class TokenizerEntry {
        public static final String WORDPIECE = "wordpiece";
        public static final String BPE = "bpe";
        public static final String UNIGRAM = "unigram";

        /** {@link #WORDPIECE} (vocab.txt), {@link #BPE} or {@link #UNIGRAM} (tokenizer.json). */
        public final String type;
        public final FileEntry file;
        /** Optional "pad_id": overrides the pad token found in tokenizer.json (null: absent). */
        public final Integer padId;
        /**
         * Optional "unigram_scores": "exact" (the default: transformers' model classes, as
         * AutoTokenizer loads XLM-R/ALBERT/T5) or "serde_json" (tokenizer.json read by the Rust
         * library itself); see TokenizerJson.ScoreParsing.
         */
        public final String unigramScores;

        TokenizerEntry(String type, FileEntry file, Integer padId, String unigramScores) {
            this.type = type;
            this.file = file;
            this.padId = padId;
            this.unigramScores = unigramScores;
        }
    }

    /** One bundled model. */
    public static final class ModelEntry {
        public final String backend;
        public final String file;
        public final String format;
        public final String quantization;
        public final String sha256;
        public final long sizeBytes;
        /**
         * {@code models[].mediapipe.ready} from parity: MediaPipe's TextClassifier agreed with the
         * host's LiteRT runner on the dev set. Null when parity did not check (or not a .tflite).
         */
        public final Boolean mediapipeReady;
        /** Why it is not MediaPipe-ready (null when ready or unchecked). */
        public final String mediapipeReason;

        ModelEntry(String backend, String file, String format, String quantization, String sha256, long sizeBytes) {
            this(backend, file, format, quantization, sha256, sizeBytes, null, null);
        }

        ModelEntry(String backend, String file, String format, String quantization, String sha256, long sizeBytes,
                   Boolean mediapipeReady, String mediapipeReason) {
            this.backend = backend;
            this.file = file;
            this.format = format;
            this.quantization = quantization;
            this.sha256 = sha256;
            this.sizeBytes = sizeBytes;
            this.mediapipeReady = mediapipeReady;
            this.mediapipeReason = mediapipeReason;
        }
    }

    /** One input or output tensor. */
    public static final class TensorSpec {
        public final String name;
        public final String dtype;
        public final int[] shape;

        TensorSpec(String name, String dtype, int[] shape) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape);
        }
    }

    public final int formatVersion;
    public final String pipelineVersion;
    public final String teacher;
    public final String student;
    public final List<String> labels;
    public final int maxSeqLength;
    /** Models take [1, n] inputs, 1 <= n <= max_seq_length ("sequence" in manifest.json). */
    public final boolean dynamicLength;
    /** Padded positions after the last real token to feed (RealLength); 0 if not dynamic. */
    public final int trailingContext;
    /** WordPiece casing (do_lower_case); BPE and Unigram carry theirs inside tokenizer.json. */
    public final boolean doLowerCase;
    /** HF's strip_accents; when absent it follows do_lower_case. */
    public final boolean stripAccents;
    /** The WordPiece vocab.txt; null for a BPE or Unigram bundle. */
    public final FileEntry vocab;
    /** Never null: old bundles get WordPiece over {@link #vocab}. */
    public final TokenizerEntry tokenizer;
    public final List<TensorSpec> inputs;
    public final List<TensorSpec> outputs;
    public final List<ModelEntry> models;
    public final String defaultBackend;
    public final Map<String, Tolerance> tolerances;
    public final String goldenFile;
    public final int goldenCount;

    private Manifest(Json.Obj o) throws BundleException {
        formatVersion = o.int32("format_version");
        if (formatVersion < MIN_FORMAT_VERSION || formatVersion > FORMAT_VERSION) {
            throw new BundleException(FILE + ": format_version " + formatVersion + " is not supported (this app reads "
                    + "versions " + MIN_FORMAT_VERSION + " to " + FORMAT_VERSION
                    + "); rebuild the bundle with a matching bert-edge, or update the app");
        }
        pipelineVersion = o.optString("pipeline_version", "?");
        teacher = o.optString("teacher", "?");
        student = o.optString("student", "?");
        labels = Collections.unmodifiableList(o.stringList("labels"));
        if (labels.isEmpty()) {
            throw new BundleException(FILE + ": labels is empty");
        }
        maxSeqLength = o.int32("max_seq_length");
        if (maxSeqLength < 3 || maxSeqLength > 4096) {
            throw new BundleException(FILE + ": max_seq_length " + maxSeqLength + " is out of range (3..4096)");
        }
        if (o.has("sequence")) {
            Json.Obj q = o.obj("sequence");
            dynamicLength = q.bool("dynamic");
            trailingContext = q.has("trailing_context") ? q.int32("trailing_context") : 0;
            if (trailingContext < 0 || trailingContext >= maxSeqLength) {
                throw new BundleException(q.where() + ": trailing_context " + trailingContext + " is out of range");
            }
            if (q.has("max_seq_length") && q.int32("max_seq_length") != maxSeqLength) {
                throw new BundleException(q.where() + ": max_seq_length " + q.int32("max_seq_length")
                        + " differs from the manifest's " + maxSeqLength);
            }
        } else { // bundles written before real length: every input is padded to max_seq_length
            dynamicLength = false;
            trailingContext = 0;
        }
        tokenizer = tokenizerEntry(o);
        boolean wordPiece = TokenizerEntry.WORDPIECE.equals(tokenizer.type);
        Boolean lc = o.optBool("do_lower_case");
        if (lc == null && wordPiece) {
            o.bool("do_lower_case"); // WordPiece needs it: the "missing field" error
        }
        doLowerCase = lc != null && lc;
        Boolean sa = o.optBool("strip_accents");
        stripAccents = sa == null ? doLowerCase : sa;
        vocab = wordPiece ? tokenizer.file : null;

        inputs = tensors(o, "inputs");
        outputs = tensors(o, "outputs");
        checkInputs();
        checkOutputs();

        List<ModelEntry> ms = new ArrayList<>();
        List<Object> raw = o.list("models");
        if (raw.isEmpty()) {
            throw new BundleException(FILE + ": models is empty: the bundle has no model");
        }
        for (int i = 0; i < raw.size(); i++) {
            Json.Obj m = Json.Obj.of(raw.get(i), FILE, "models[" + i + "]");
            String backend = m.string("backend");
            String format = m.string("format");
            String expected = BackendId.expectedFormat(backend);
            if (expected == null) {
                throw new BundleException(m.where() + ": unknown backend '" + backend + "' (this app runs "
                        + BackendId.TFLITE_INT8 + ", " + BackendId.TFLITE_FP32 + ", " + BackendId.TFLITE_INT8_FULL
                        + ", " + BackendId.PTL_INT8 + ", " + BackendId.PTE_INT8 + ", " + BackendId.PTE_FP32 + ")");
            }
            if (!expected.equals(format)) {
                throw new BundleException(m.where() + ": backend " + backend + " needs format '" + expected
                        + "', got '" + format + "'");
            }
            for (ModelEntry prev : ms) {
                if (prev.backend.equals(backend)) {
                    throw new BundleException(m.where() + ": backend " + backend + " is listed twice");
                }
            }
            Boolean mpReady = null;
            String mpReason = null;
            if (m.has("mediapipe")) { // optional, from parity; has() is false for JSON null
                Json.Obj mp = m.obj("mediapipe");
                mpReady = mp.optBool("ready");
                mpReason = mp.has("reason") ? mp.string("reason") : null;
            }
            ms.add(new ModelEntry(backend, fileName(m, "file"), format, m.optString("quantization", ""),
                    digest(m), m.integer("size_bytes"), mpReady, mpReason));
        }
        models = Collections.unmodifiableList(ms);

        String dflt = o.optString("default_backend", ms.get(0).backend);
        if (model(dflt) == null) {
            throw new BundleException(FILE + ": default_backend '" + dflt + "' is not one of the bundled models");
        }
        defaultBackend = dflt;

        Map<String, Tolerance> tol = new LinkedHashMap<>();
        if (o.has("tolerances")) {
            Json.Obj t = o.obj("tolerances");
            for (String backend : t.map().keySet()) {
                Json.Obj b = t.obj(backend);
                try {
                    tol.put(backend, new Tolerance(b.number("max_abs_logit_diff"), b.number("min_argmax_agreement")));
                } catch (IllegalArgumentException e) {
                    throw new BundleException(b.where() + ": " + e.getMessage());
                }
            }
        }
        tolerances = Collections.unmodifiableMap(tol);

        Json.Obj g = o.obj("golden");
        goldenFile = fileName(g, "file");
        goldenCount = g.int32("count");
        if (goldenCount < 0) {
            throw new BundleException(g.where() + ": count must be >= 0");
        }
    }

    /**
     * "tokenizer", or for old bundles WordPiece from "vocab". A WordPiece bundle that has both
     * must name the same file in both.
     */
    private static TokenizerEntry tokenizerEntry(Json.Obj o) throws BundleException {
        FileEntry vocab = null;
        if (o.has("vocab")) {
            Json.Obj v = o.obj("vocab");
            vocab = new FileEntry(fileName(v, "file"), digest(v), v.integer("size_bytes"));
        }
        if (!o.has("tokenizer")) {
            if (vocab == null) {
                o.obj("vocab"); // the "missing field 'vocab'" error
            }
            return new TokenizerEntry(TokenizerEntry.WORDPIECE, vocab, null, null);
        }
        Json.Obj t = o.obj("tokenizer");
        String type = t.string("type");
        if (!type.equals(TokenizerEntry.WORDPIECE) && !type.equals(TokenizerEntry.BPE)
                && !type.equals(TokenizerEntry.UNIGRAM)) {
            throw new BundleException(t.where() + ": type '" + type + "' is not supported (this app reads "
                    + TokenizerEntry.WORDPIECE + ", " + TokenizerEntry.BPE + ", " + TokenizerEntry.UNIGRAM + ")");
        }
        FileEntry file = new FileEntry(fileName(t, "file"), digest(t), t.integer("size_bytes"));
        Integer padId = null;
        if (t.has("pad_id")) {
            padId = t.int32("pad_id");
            if (padId < 0) {
                throw new BundleException(t.where() + ": pad_id must be >= 0, got " + padId);
            }
        }
        String scores = t.has("unigram_scores") ? t.string("unigram_scores") : null;
        if (scores != null && !scores.equals("exact") && !scores.equals("serde_json")) {
            throw new BundleException(t.where() + ": unigram_scores must be \"exact\" or \"serde_json\", got '"
                    + scores + "'");
        }
        if (type.equals(TokenizerEntry.WORDPIECE) && vocab != null
                && !(vocab.file.equals(file.file) && vocab.sha256.equals(file.sha256))) {
            throw new BundleException(t.where() + ": names " + file.file + " but vocab names " + vocab.file
                    + " (with another sha256): the bundle is inconsistent");
        }
        return new TokenizerEntry(type, file, padId, scores);
    }

    /** Parse and validate manifest.json text. */
    public static Manifest parse(String json) throws BundleException {
        try {
            Object root;
            try {
                root = Json.parse(json);
            } catch (JsonException e) {
                throw new BundleException(FILE + ": not valid JSON: " + e.getMessage(), e);
            }
            return new Manifest(Json.Obj.of(root, FILE, ""));
        } catch (JsonException e) {
            throw new BundleException(e.getMessage(), e);
        }
    }

    public ModelEntry model(String backend) {
        for (ModelEntry m : models) {
            if (m.backend.equals(backend)) {
                return m;
            }
        }
        return null;
    }

    /**
     * The .tflite the MediaPipe backend runs: the default backend's file when parity marked it
     * MediaPipe-ready, else the first ready .tflite; null when none is (then the app shows why).
     */
    public ModelEntry mediapipeModel() {
        ModelEntry d = model(defaultBackend);
        if (d != null && BackendId.FORMAT_TFLITE.equals(d.format) && Boolean.TRUE.equals(d.mediapipeReady)) {
            return d;
        }
        for (ModelEntry m : models) {
            if (BackendId.FORMAT_TFLITE.equals(m.format) && Boolean.TRUE.equals(m.mediapipeReady)) {
                return m;
            }
        }
        return null;
    }

    /** Why no bundled model is MediaPipe-ready (for the UI); null when one is. */
    public String mediapipeUnavailableReason() {
        if (mediapipeModel() != null) {
            return null;
        }
        for (ModelEntry m : models) {
            if (m.mediapipeReason != null) {
                return m.file + ": " + m.mediapipeReason;
            }
        }
        return "no bundled .tflite was checked with MediaPipe by `bert-edge parity`";
    }

    public List<String> backends() {
        List<String> out = new ArrayList<>();
        for (ModelEntry m : models) {
            out.add(m.backend);
        }
        return out;
    }

    /** The tolerance of {@code backend}, or null when the manifest gives none. */
    public Tolerance tolerance(String backend) {
        return tolerances.get(backend);
    }

    public int numLabels() {
        return labels.size();
    }

    private static String fileName(Json.Obj o, String key) throws BundleException {
        String f = o.string(key);
        if (f.isEmpty() || f.contains("/") || f.contains("\\") || f.equals(".") || f.equals("..")) {
            throw new BundleException(o.where() + ": " + key + " must be a plain file name, got '" + f + "'");
        }
        return f;
    }

    private static String digest(Json.Obj o) throws BundleException {
        String d = o.string("sha256");
        if (!Sha256.isHexDigest(d)) {
            throw new BundleException(o.where() + ": sha256 must be 64 lowercase hex digits, got '" + d + "'");
        }
        return d;
    }

    private static List<TensorSpec> tensors(Json.Obj o, String key) throws BundleException {
        List<Object> raw = o.list(key);
        List<TensorSpec> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            Json.Obj t = Json.Obj.of(raw.get(i), FILE, key + "[" + i + "]");
            out.add(new TensorSpec(t.string("name"), t.string("dtype"), t.intArray("shape")));
        }
        return Collections.unmodifiableList(out);
    }

    private void checkInputs() throws BundleException {
        List<String> names = new ArrayList<>();
        for (TensorSpec t : inputs) {
            names.add(t.name);
            if (!INPUT_NAMES.contains(t.name)) {
                throw new BundleException(FILE + ": inputs: unexpected input '" + t.name + "' (expected " + INPUT_NAMES + ")");
            }
            if (!"int32".equals(t.dtype)) {
                throw new BundleException(FILE + ": inputs: " + t.name + " has dtype " + t.dtype + ", the app feeds int32");
            }
            int[] want = dynamicLength ? new int[] {1, -1} : new int[] {1, maxSeqLength};
            if (!Arrays.equals(t.shape, want)) {
                throw new BundleException(FILE + ": inputs: " + t.name + " has shape " + Arrays.toString(t.shape)
                        + ", expected " + Arrays.toString(want)
                        + (dynamicLength ? " (dynamic sequence)" : " (max_seq_length)"));
            }
        }
        for (String n : INPUT_NAMES) {
            if (!names.contains(n)) {
                throw new BundleException(FILE + ": inputs: missing input '" + n + "'");
            }
        }
        if (names.size() != INPUT_NAMES.size()) {
            throw new BundleException(FILE + ": inputs: expected exactly " + INPUT_NAMES + ", got " + names);
        }
    }

    private void checkOutputs() throws BundleException {
        if (outputs.size() != 1 || !OUTPUT_NAME.equals(outputs.get(0).name)) {
            throw new BundleException(FILE + ": outputs: expected one output named '" + OUTPUT_NAME + "'");
        }
        TensorSpec t = outputs.get(0);
        if (!"float32".equals(t.dtype)) {
            throw new BundleException(FILE + ": outputs: logits has dtype " + t.dtype + ", expected float32");
        }
        if (!Arrays.equals(t.shape, new int[] {1, labels.size()})) {
            throw new BundleException(FILE + ": outputs: logits has shape " + Arrays.toString(t.shape) + ", expected [1, "
                    + labels.size() + "] (one logit per label)");
        }
    }
}
