package org.bertedge.core;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class BackendIdTest {
    @Test
    public void realLengthDropsOnlyTrailingPadding() {
        assertEquals(3, BackendId.realLength(new int[] {1, 1, 1, 0, 0}));
        assertEquals(4, BackendId.realLength(new int[] {1, 0, 1, 1, 0})); // interior zero stays
        assertEquals(5, BackendId.realLength(new int[] {1, 1, 1, 1, 1}));
        assertEquals(1, BackendId.realLength(new int[] {0, 0, 0})); // never an empty input
    }

    @Test
    public void pteBackendsNeedThePteFormat() {
        assertEquals(BackendId.FORMAT_PTE, BackendId.expectedFormat(BackendId.PTE_INT8));
        assertEquals(BackendId.FORMAT_PTE, BackendId.expectedFormat(BackendId.PTE_FP32));
    }
}
