package org.bertedge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class BackendTest {
    @Test
    public void logitsWithOneValuePerLabelPassThrough() {
        float[] logits = {0.5f, -1f};
        assertArrayEquals(logits, Backend.requireOnePerLabel("pte_int8", logits, 2), 0f);
    }

    @Test
    public void aWrongNumberOfLogitsNamesTheBackend() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Backend.requireOnePerLabel("ptl_int8", new float[3], 2));
        assertTrue(e.getMessage(), e.getMessage().startsWith("ptl_int8: model returned 3 logits, expected 2"));
    }
}
