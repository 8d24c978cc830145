package org.bertedge.demo;

import org.bertedge.core.Backend;
import org.bertedge.core.BackendId;
import org.bertedge.core.Classifier;
import org.bertedge.core.Manifest;
import org.bertedge.core.TextBackend;
import org.bertedge.core.BundleException;
import org.bertedge.core.GoldenCase;
import org.bertedge.core.ParityCheck;
import org.bertedge.core.tokenizer.Encoding;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs every golden case of the bundle through every bundled backend, synchronously (call it
 * off the main thread). Shared by the self-test screen and the instrumented test.
 */
final class SelfTestRunner {
    private SelfTestRunner() {}

    /** How many golden cases the on-device tokenizer encodes to exactly the host's ids. */
    static int tokenMatches(ModelRepository.LoadedBundle b) {
        int n = 0;
        for (GoldenCase c : b.golden) {
            Encoding e = b.classifier.encode(c.text, c.textPair);
            if (Arrays.equals(e.inputIds, c.inputIds) && Arrays.equals(e.attentionMask, c.attentionMask)
                    && Arrays.equals(e.tokenTypeIds, c.tokenTypeIds)) {
                n++;
            }
        }
        return n;
    }

    static SelfTestReport.BackendResult runBackend(ModelRepository repo, ModelRepository.LoadedBundle b,
                                                   String backend, int threads) {
        long t0 = System.nanoTime();
        try (Backend be = repo.open(b, backend, threads)) {
            ParityCheck.Summary s = b.classifier.selfTest(be, b.golden, b.manifest.tolerance(backend));
            return new SelfTestReport.BackendResult(backend, s, null, (System.nanoTime() - t0) / 1e9);
        } catch (BundleException e) {
            return new SelfTestReport.BackendResult(backend, null, e.getMessage(), (System.nanoTime() - t0) / 1e9);
        } catch (Throwable t) { // a runtime failing natively mid-run: report, do not crash
            return new SelfTestReport.BackendResult(backend, null, "runtime error: " + t, (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * MediaPipe's TextClassifier on the golden texts (raw text in) vs softmax of the host logits
     * of the .tflite it runs. Null when no bundled .tflite is MediaPipe-ready (parity said why).
     */
    static SelfTestReport.BackendResult runMediaPipe(ModelRepository repo, ModelRepository.LoadedBundle b) {
        Manifest.ModelEntry e = b.manifest.mediapipeModel();
        if (e == null) {
            return null;
        }
        long t0 = System.nanoTime();
        try (TextBackend be = repo.openMediaPipe(b)) {
            ParityCheck.Summary s = b.classifier.selfTest(be, b.golden, e.backend, Classifier.MEDIAPIPE_TOLERANCE);
            return new SelfTestReport.BackendResult(BackendId.MEDIAPIPE, s, null, (System.nanoTime() - t0) / 1e9);
        } catch (BundleException ex) {
            return new SelfTestReport.BackendResult(BackendId.MEDIAPIPE, null, ex.getMessage(), (System.nanoTime() - t0) / 1e9);
        } catch (Throwable t) {
            return new SelfTestReport.BackendResult(BackendId.MEDIAPIPE, null, "runtime error: " + t,
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    static SelfTestReport run(ModelRepository repo, ModelRepository.LoadedBundle b, int threads) {
        List<SelfTestReport.BackendResult> results = new ArrayList<>();
        for (String backend : b.manifest.backends()) {
            results.add(runBackend(repo, b, backend, threads));
        }
        SelfTestReport.BackendResult mp = runMediaPipe(repo, b);
        if (mp != null) {
            results.add(mp);
        }
        return new SelfTestReport(b.golden.size(), tokenMatches(b), threads, results);
    }
}
