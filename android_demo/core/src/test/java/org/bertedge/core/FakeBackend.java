package org.bertedge.core;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A backend that answers the golden logits of its id (plus an offset) for known inputs. */
final class FakeBackend implements Backend {
    private final String id;
    private final Map<String, float[]> answers = new HashMap<>();
    float offset;
    int calls;
    int lastLength = -1;
    boolean closed;
    RuntimeException failOn;

    FakeBackend(String id, List<GoldenCase> cases, String logitsOf) {
        this.id = id;
        for (GoldenCase c : cases) {
            answers.put(key(c.inputIds, c.attentionMask, c.tokenTypeIds), c.logitsFor(logitsOf));
        }
    }

    /** Inputs up to the last real token: the same key padded or at real length. */
    private static String key(int[] a, int[] b, int[] c) {
        int n = RealLength.keep(b, 0);
        return Arrays.toString(Arrays.copyOf(a, n)) + Arrays.toString(Arrays.copyOf(b, n))
                + Arrays.toString(Arrays.copyOf(c, n));
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public float[] logits(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        calls++;
        lastLength = inputIds.length;
        if (failOn != null && calls == 2) {
            throw failOn;
        }
        float[] v = answers.get(key(inputIds, attentionMask, tokenTypeIds));
        if (v == null) {
            return new float[] {0f, 0f};
        }
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] += offset;
        }
        return out;
    }

    @Override
    public void close() {
        closed = true;
    }
}
