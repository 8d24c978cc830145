package org.bertedge.core;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class LatencyStatsTest {
    @Test
    public void percentilesMatchNumpy() {
        // numpy.percentile([10, 1, 7, 3, 5, 9, 2, 8, 4, 6], [50, 90]) -> [5.5, 9.1]
        LatencyStats s = LatencyStats.of(42.0, new double[] {10, 1, 7, 3, 5, 9, 2, 8, 4, 6});
        assertEquals(5.5, s.p50Ms, 1e-12);
        assertEquals(9.1, s.p90Ms, 1e-12);
        assertEquals(42.0, s.firstMs, 0);
        assertEquals(10, s.runs);
        assertEquals(5.5, s.meanMs, 1e-12);
        assertEquals(1, s.minMs, 0);
        assertEquals(10, s.maxMs, 0);
    }

    @Test
    public void oddAndSingleSamples() {
        // numpy.percentile([3, 1, 2], [50, 90]) -> [2.0, 2.8]
        LatencyStats s = LatencyStats.of(0, new double[] {3, 1, 2});
        assertEquals(2.0, s.p50Ms, 1e-12);
        assertEquals(2.8, s.p90Ms, 1e-12);
        LatencyStats one = LatencyStats.of(0, new double[] {7.5});
        assertEquals(7.5, one.p50Ms, 0);
        assertEquals(7.5, one.p90Ms, 0);
    }

    @Test
    public void percentileEndpoints() {
        double[] sorted = {1, 2, 3, 4};
        assertEquals(1, LatencyStats.percentile(sorted, 0), 0);
        assertEquals(4, LatencyStats.percentile(sorted, 100), 0);
        assertEquals(3.7, LatencyStats.percentile(sorted, 90), 1e-12);
    }

    @Test(expected = IllegalArgumentException.class)
    public void needsARun() {
        LatencyStats.of(1, new double[0]);
    }
}
