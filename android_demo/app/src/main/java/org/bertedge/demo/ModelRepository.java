package org.bertedge.demo;

import android.content.Context;

import org.bertedge.core.Backend;
import org.bertedge.core.BackendId;
import org.bertedge.core.BundleException;
import org.bertedge.core.BundleTokenizer;
import org.bertedge.core.Classifier;
import org.bertedge.core.GoldenCase;
import org.bertedge.core.Manifest;
import org.bertedge.core.Sha256;
import org.bertedge.core.TextBackend;
import org.bertedge.core.tokenizer.TextTokenizer;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The app bundle in the APK's assets: loads and cross-checks manifest.json, the tokenizer
 * (vocab.txt for WordPiece, tokenizer.json for byte-level BPE / SentencePiece Unigram, as the
 * manifest's "tokenizer" says), labels.txt and golden.jsonl, verifies each model's sha256
 * against the manifest before any runtime sees it, and opens backends. Every problem is a {@link BundleException} with a message
 * for the user; nothing here crashes the app.
 */
public final class ModelRepository {
    /** Everything the screens need from a valid bundle. */
    public static final class LoadedBundle {
        public final Manifest manifest;
        public final TextTokenizer tokenizer;
        public final List<GoldenCase> golden;
        public final Classifier classifier;

        LoadedBundle(Manifest manifest, TextTokenizer tokenizer, List<GoldenCase> golden, Classifier classifier) {
            this.manifest = manifest;
            this.tokenizer = tokenizer;
            this.golden = golden;
            this.classifier = classifier;
        }
    }

    /** The checked state of one model file. */
    public static final class ModelStatus {
        public final Manifest.ModelEntry entry;
        public final boolean present;
        public final long actualSize;
        public final String actualSha256;
        /** Null when the file is present and matches the manifest. */
        public final String problem;

        ModelStatus(Manifest.ModelEntry entry, boolean present, long actualSize, String actualSha256, String problem) {
            this.entry = entry;
            this.present = present;
            this.actualSize = actualSize;
            this.actualSha256 = actualSha256;
            this.problem = problem;
        }

        public boolean ok() {
            return problem == null;
        }
    }

    private final Context context;
    private final BundleAssets assets;
    private final Map<String, ModelStatus> verified = new HashMap<>();

    public ModelRepository(Context context) {
        this.context = context.getApplicationContext();
        this.assets = new BundleAssets(this.context.getAssets());
    }

    /** Load and validate the bundle (not the models: see {@link #verify} and {@link #open}). */
    public LoadedBundle load() throws BundleException {
        if (!assets.exists(Manifest.FILE)) {
            throw new BundleException("No model bundle in this APK (assets/manifest.json is missing). Run "
                    + "`bert-edge bundle` (or `make demo`) in the bert-edge repository: it writes "
                    + "android_demo/app/src/main/assets/. Then rebuild and reinstall the app.");
        }
        Manifest m = Manifest.parse(assets.readText(Manifest.FILE));

        Manifest.FileEntry tf = m.tokenizer.file;
        if (!assets.exists(tf.file)) {
            throw new BundleException("assets/" + tf.file + " (the " + m.tokenizer.type + " tokenizer named by "
                    + "manifest.json) is missing from the APK; re-run `bert-edge bundle` and rebuild");
        }
        BundleAssets.Digest vd = assets.digest(tf.file);
        if (!vd.sha256.equals(tf.sha256)) {
            throw new BundleException(tf.file + ": sha256 " + shortSha(vd.sha256) + " does not match the manifest's "
                    + shortSha(tf.sha256) + "; the bundle is inconsistent: re-run `bert-edge bundle`");
        }
        TextTokenizer tokenizer;
        try (InputStream in = assets.open(tf.file)) {
            tokenizer = BundleTokenizer.read(m, in);
        } catch (IOException e) {
            throw new BundleException(tf.file + ": " + e.getMessage(), e);
        }

        if (assets.exists("labels.txt")) {
            List<String> labels = new ArrayList<>();
            for (String line : assets.readText("labels.txt").split("\n")) {
                String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
                if (!l.isEmpty()) {
                    labels.add(l);
                }
            }
            if (!labels.equals(m.labels)) {
                throw new BundleException("labels.txt " + labels + " differs from manifest.json labels " + m.labels);
            }
        }

        List<GoldenCase> golden = GoldenCase.parseForManifest(assets.readText(m.goldenFile), m);
        Classifier classifier;
        try {
            classifier = Classifier.forManifest(m, tokenizer);
        } catch (IllegalArgumentException e) { // a template with more special tokens than max_seq_length
            throw new BundleException(tf.file + ": " + e.getMessage(), e);
        }
        return new LoadedBundle(m, tokenizer, Collections.unmodifiableList(golden), classifier);
    }

    /** Size and sha256 of a model file against the manifest (computed once per process). */
    public synchronized ModelStatus verify(Manifest.ModelEntry e) {
        ModelStatus s = verified.get(e.backend);
        if (s != null) {
            return s;
        }
        if (!assets.exists(e.file)) {
            s = new ModelStatus(e, false, -1, null, "assets/" + e.file + " is missing from the APK (listed in manifest.json "
                    + "for " + e.backend + "); re-run `bert-edge bundle` and rebuild");
        } else {
            try {
                BundleAssets.Digest d = assets.digest(e.file);
                String problem = null;
                if (!d.sha256.equals(e.sha256)) {
                    problem = e.file + ": sha256 " + shortSha(d.sha256) + " does not match the manifest's "
                            + shortSha(e.sha256) + "; the model will not be loaded (re-run `bert-edge bundle`)";
                } else if (d.size != e.sizeBytes) {
                    problem = e.file + ": " + d.size + " bytes, manifest says " + e.sizeBytes;
                }
                s = new ModelStatus(e, true, d.size, d.sha256, problem);
            } catch (BundleException ex) {
                s = new ModelStatus(e, true, -1, null, ex.getMessage());
            }
        }
        verified.put(e.backend, s);
        return s;
    }

    /** Drop cached checksum results (the next {@link #verify} hashes again). */
    public synchronized void forgetVerification() {
        verified.clear();
    }

    /** Verify, then load {@code backendId} with its runtime. */
    public Backend open(LoadedBundle b, String backendId, int threads) throws BundleException {
        Manifest.ModelEntry e = b.manifest.model(backendId);
        if (e == null) {
            throw new BundleException(BackendId.displayName(backendId) + " is not in this bundle (it has "
                    + b.manifest.backends() + ")");
        }
        ModelStatus s = verify(e);
        if (!s.ok()) {
            throw new BundleException(s.problem);
        }
        try {
            if (BackendId.FORMAT_TFLITE.equals(e.format)) {
                return TfliteBackend.open(assets.openFd(e.file), e.backend, threads, b.manifest);
            }
            if (BackendId.FORMAT_PTE.equals(e.format)) {
                return ExecuTorchBackend.open(copyToFile(e), e.backend, threads, b.manifest);
            }
            return PytorchLiteBackend.open(copyToFile(e), e.backend, threads, b.manifest);
        } catch (BundleException ex) {
            throw ex;
        } catch (Throwable t) { // native loader errors are Errors, not Exceptions
            String runtime = BackendId.FORMAT_TFLITE.equals(e.format) ? "LiteRT"
                    : BackendId.FORMAT_PTE.equals(e.format) ? "ExecuTorch" : "PyTorch Lite";
            throw new BundleException(e.file + ": the " + runtime
                    + " runtime could not load it (" + t.getClass().getSimpleName() + ": " + t.getMessage() + ")", t);
        }
    }

    /**
     * Verify, then load the bundle's MediaPipe-ready .tflite ({@link Manifest#mediapipeModel()})
     * on MediaPipe Tasks' TextClassifier, which reads it straight from the APK's assets.
     */
    public TextBackend openMediaPipe(LoadedBundle b) throws BundleException {
        Manifest.ModelEntry e = b.manifest.mediapipeModel();
        if (e == null) {
            throw new BundleException(BackendId.displayName(BackendId.MEDIAPIPE) + " is not available: "
                    + b.manifest.mediapipeUnavailableReason());
        }
        ModelStatus s = verify(e);
        if (!s.ok()) {
            throw new BundleException(s.problem);
        }
        try {
            return MediaPipeTextBackend.open(context, e.file, b.manifest.numLabels());
        } catch (Throwable t) { // MediaPipe reports a bad model as a RuntimeException; natives as Errors
            throw new BundleException(e.file + ": MediaPipe's TextClassifier could not load it ("
                    + t.getClass().getSimpleName() + ": " + t.getMessage() + ")", t);
        }
    }

    /**
     * PyTorch Lite loads from a file path: copy the asset into app storage, hashing while
     * copying, and keep it only if it matches the manifest.
     */
    private File copyToFile(Manifest.ModelEntry e) throws BundleException {
        File dir = new File(context.getFilesDir(), "models");
        if (!dir.isDirectory() && !dir.mkdirs()) {
            throw new BundleException("cannot create " + dir);
        }
        File target = new File(dir, e.sha256 + "-" + e.file);
        if (target.isFile() && target.length() == e.sizeBytes && e.sha256.equals(fileSha(target))) {
            return target;
        }
        File tmp = new File(dir, e.file + ".tmp");
        try (InputStream in = assets.open(e.file); OutputStream out = new FileOutputStream(tmp)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            DigestInputStream din = new DigestInputStream(in, md);
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = din.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            String sha = hex(md.digest());
            if (!sha.equals(e.sha256)) {
                out.close();
                tmp.delete();
                throw new BundleException(e.file + ": sha256 changed while copying (" + shortSha(sha) + ")");
            }
        } catch (IOException | NoSuchAlgorithmException ex) {
            tmp.delete();
            throw new BundleException(e.file + ": copy to app storage failed (" + ex.getMessage() + ")", ex);
        }
        File[] old = dir.listFiles();
        if (old != null) {
            for (File f : old) {
                if (f.getName().endsWith("-" + e.file)) {
                    f.delete();
                }
            }
        }
        if (!tmp.renameTo(target)) {
            throw new BundleException("cannot rename " + tmp + " to " + target);
        }
        return target;
    }

    private static String fileSha(File f) {
        try (InputStream in = new FileInputStream(f)) {
            return Sha256.hex(in);
        } catch (IOException e) {
            return "";
        }
    }

    private static String hex(byte[] d) {
        StringBuilder sb = new StringBuilder();
        for (byte x : d) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
    }

    static String shortSha(String sha) {
        return sha == null ? "?" : sha.length() > 12 ? sha.substring(0, 12) + "…" : sha;
    }
}
