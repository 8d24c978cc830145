package org.bertedge.core.json;

/** Malformed JSON, or JSON of the wrong shape; the message names the position or the key. */
public class JsonException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JsonException(String message) {
        super(message);
    }
}
