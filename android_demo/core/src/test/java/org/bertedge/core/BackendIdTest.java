package org.bertedge.core;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class BackendIdTest {
    @Test
    public void pteBackendsNeedThePteFormat() {
        assertEquals(BackendId.FORMAT_PTE, BackendId.expectedFormat(BackendId.PTE_INT8));
        assertEquals(BackendId.FORMAT_PTE, BackendId.expectedFormat(BackendId.PTE_FP32));
    }
}
