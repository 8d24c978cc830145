package org.bertedge.core;

import java.util.Arrays;

/**
 * Latency of the first (cold) run and percentiles over the following runs, in milliseconds.
 * Percentiles interpolate linearly between order statistics, as {@code numpy.percentile}'s
 * default does, so phone numbers compare with the host benchmark's p50_ms / p90_ms.
 */
public final class LatencyStats {
    public final double firstMs;
    public final int runs;
    public final double p50Ms;
    public final double p90Ms;
    public final double meanMs;
    public final double minMs;
    public final double maxMs;

    private LatencyStats(double firstMs, int runs, double p50, double p90, double mean, double min, double max) {
        this.firstMs = firstMs;
        this.runs = runs;
        this.p50Ms = p50;
        this.p90Ms = p90;
        this.meanMs = mean;
        this.minMs = min;
        this.maxMs = max;
    }

    /** @param firstMs the first run; @param runsMs the timed runs after it (at least one). */
    public static LatencyStats of(double firstMs, double[] runsMs) {
        if (runsMs.length == 0) {
            throw new IllegalArgumentException("need at least one timed run");
        }
        double[] s = runsMs.clone();
        Arrays.sort(s);
        double sum = 0;
        for (double x : s) {
            sum += x;
        }
        return new LatencyStats(firstMs, s.length, percentile(s, 50), percentile(s, 90), sum / s.length, s[0],
                s[s.length - 1]);
    }

    /** numpy.percentile(x, p) with linear interpolation, on an ascending array. */
    public static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("empty sample");
        }
        if (p < 0 || p > 100) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        double rank = p / 100.0 * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, sorted.length - 1);
        double frac = rank - lo;
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "first %.2f ms, p50 %.2f ms, p90 %.2f ms over %d runs",
                firstMs, p50Ms, p90Ms, runs);
    }
}
