package org.bertedge.core;

/**
 * A problem with the app bundle (missing asset, malformed or mismatched manifest, bad golden
 * line, checksum mismatch). The message is one line meant for the user, naming the file.
 */
public class BundleException extends Exception {
    private static final long serialVersionUID = 1L;

    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
