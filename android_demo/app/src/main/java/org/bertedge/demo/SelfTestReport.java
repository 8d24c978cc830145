package org.bertedge.demo;

import org.bertedge.core.ParityCheck;

import java.util.List;

/** The self-test over every bundled backend. */
final class SelfTestReport {
    /** One backend: its parity summary, or why it could not be loaded. */
    static final class BackendResult {
        final String backend;
        final ParityCheck.Summary summary;
        final String loadError;
        final double seconds;

        BackendResult(String backend, ParityCheck.Summary summary, String loadError, double seconds) {
            this.backend = backend;
            this.summary = summary;
            this.loadError = loadError;
            this.seconds = seconds;
        }

        boolean passed() {
            return loadError == null && summary != null && summary.passed;
        }
    }

    final int goldenCases;
    final int tokenMatches;
    final int threads;
    final List<BackendResult> backends;

    SelfTestReport(int goldenCases, int tokenMatches, int threads, List<BackendResult> backends) {
        this.goldenCases = goldenCases;
        this.tokenMatches = tokenMatches;
        this.threads = threads;
        this.backends = backends;
    }

    boolean passed() {
        if (tokenMatches != goldenCases || backends.isEmpty()) {
            return false;
        }
        for (BackendResult b : backends) {
            if (!b.passed()) {
                return false;
            }
        }
        return true;
    }
}
