package org.bertedge.demo;

import org.bertedge.core.LatencyStats;

/** A latency measurement with the settings it ran under. */
final class LatencyReport {
    final String backend;
    final int threads;
    final LatencyStats stats;

    LatencyReport(String backend, int threads, LatencyStats stats) {
        this.backend = backend;
        this.threads = threads;
        this.stats = stats;
    }
}
