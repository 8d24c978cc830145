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
    boolean closed;
    RuntimeException failOn;

    FakeBackend(String id, List<GoldenCase> cases, String logitsOf) {
        this.id = id;
        for (GoldenCase c : cases) {
            answers.put(key(c.inputIds, c.attentionMask, c.tokenTypeIds), c.logitsFor(logitsOf));
        }
    }

    private static String key(int[] a, int[] b, int[] c) {
        return Arrays.toString(a) + Arrays.toString(b) + Arrays.toString(c);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public float[] logits(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        calls++;
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
