package org.bertedge.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import android.content.Context;
import android.os.Bundle;
import android.text.TextUtils;

import androidx.test.platform.app.InstrumentationRegistry;

import org.bertedge.core.BackendId;
import org.bertedge.core.BundleException;
import org.bertedge.core.GoldenCase;
import org.bertedge.core.Manifest;
import org.bertedge.core.ParityCheck;
import org.bertedge.core.tokenizer.Encoding;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * On-device parity with the host, synchronously, on a phone or emulator: the bundled golden
 * cases are tokenized on the device (ids must equal the host's) and run through every bundled
 * backend; logits must stay within the manifest's tolerances. One test per backend plus the
 * bundle checks. Threads: {@code -Pandroid.testInstrumentationRunnerArguments.threads=N}
 * (default 4).
 */
@RunWith(Parameterized.class)
public class GoldenParityTest {
    private static ModelRepository repo;
    private static ModelRepository.LoadedBundle bundle;

    private static synchronized ModelRepository.LoadedBundle bundle() {
        if (bundle == null) {
            Context ctx = InstrumentationRegistry.getInstrumentation().getTargetContext();
            repo = new ModelRepository(ctx);
            try {
                bundle = repo.load();
            } catch (BundleException e) {
                throw new AssertionError("the app's bundle is not usable: " + e.getMessage(), e);
            }
        }
        return bundle;
    }

    @Parameters(name = "{0}")
    public static Collection<Object[]> targets() {
        List<Object[]> out = new ArrayList<>();
        out.add(new Object[] {"bundle"});
        out.add(new Object[] {"tokenizer"});
        for (String backend : bundle().manifest.backends()) {
            out.add(new Object[] {backend});
        }
        if (bundle().manifest.mediapipeModel() != null) { // parity marked a .tflite MediaPipe-ready
            out.add(new Object[] {BackendId.MEDIAPIPE});
        }
        return out;
    }

    private final String target;

    public GoldenParityTest(String target) {
        this.target = target;
    }

    private static int threads() {
        Bundle args = InstrumentationRegistry.getArguments();
        try {
            return Math.max(1, Integer.parseInt(args.getString("threads", "4")));
        } catch (NumberFormatException e) {
            return 4;
        }
    }

    @Test
    public void matchesHost() {
        ModelRepository.LoadedBundle b = bundle();
        switch (target) {
            case "bundle":
                checkBundle(b);
                break;
            case "tokenizer":
                checkTokenizer(b);
                break;
            default:
                checkBackend(b, target);
        }
    }

    private void checkBundle(ModelRepository.LoadedBundle b) {
        assertTrue("manifest.json lists no golden cases", b.manifest.goldenCount > 0);
        assertEquals(b.manifest.goldenCount, b.golden.size());
        List<String> bad = new ArrayList<>();
        for (Manifest.ModelEntry e : b.manifest.models) {
            ModelRepository.ModelStatus s = repo.verify(e);
            if (!s.ok()) {
                bad.add(s.problem);
            }
            if (b.manifest.tolerance(e.backend) == null) {
                bad.add("manifest.json has no tolerances for " + e.backend);
            }
        }
        if (!bad.isEmpty()) {
            fail(TextUtils.join("\n", bad));
        }
    }

    private void checkTokenizer(ModelRepository.LoadedBundle b) {
        List<String> bad = new ArrayList<>();
        for (GoldenCase c : b.golden) {
            Encoding e = b.classifier.encode(c.text, c.textPair);
            int k = ParityCheck.firstMismatch(e.inputIds, c.inputIds);
            if (k >= 0 || !Arrays.equals(e.attentionMask, c.attentionMask) || !Arrays.equals(e.tokenTypeIds, c.tokenTypeIds)) {
                bad.add("golden.jsonl:" + c.line + " differs at position " + k + ": device "
                        + Arrays.toString(Arrays.copyOf(e.inputIds, Math.min(e.length + 1, e.inputIds.length)))
                        + " host " + Arrays.toString(Arrays.copyOf(c.inputIds, Math.min(e.length + 1, c.inputIds.length))));
            }
        }
        if (!bad.isEmpty()) {
            fail(bad.size() + " of " + b.golden.size() + " golden cases tokenize differently on the device:\n"
                    + TextUtils.join("\n", bad.subList(0, Math.min(5, bad.size()))));
        }
    }

    private void checkBackend(ModelRepository.LoadedBundle b, String backend) {
        SelfTestReport.BackendResult r = BackendId.MEDIAPIPE.equals(backend)
                ? SelfTestRunner.runMediaPipe(repo, b)
                : SelfTestRunner.runBackend(repo, b, backend, threads());
        if (r.loadError != null) {
            fail(backend + ": " + r.loadError);
        }
        ParityCheck.Summary s = r.summary;
        if (!s.passed) {
            StringBuilder sb = new StringBuilder(s.line());
            int shown = 0;
            for (ParityCheck.CaseResult c : s.cases) {
                boolean tooFar = s.tolerance != null && c.maxAbsDiff > s.tolerance.maxAbsLogitDiff;
                if (c.error != null || !c.tokensMatch || !c.argmaxAgrees() || tooFar) {
                    sb.append("\n  golden.jsonl:").append(c.line).append(": ")
                            .append(c.error != null ? c.error : "max |Δlogit| " + ParityCheck.num(c.maxAbsDiff)
                                    + ", argmax device " + c.deviceArgmax + " host " + c.referenceArgmax
                                    + (c.tokensMatch ? "" : ", token ids differ"));
                    if (++shown == 5) {
                        break;
                    }
                }
            }
            fail(sb.toString());
        }
    }
}
