package org.bertedge.demo;

/** A value or a one-line error message, for LiveData. */
final class Outcome<T> {
    final T value;
    final String error;

    private Outcome(T value, String error) {
        this.value = value;
        this.error = error;
    }

    static <T> Outcome<T> ok(T value) {
        return new Outcome<>(value, null);
    }

    static <T> Outcome<T> fail(String error) {
        return new Outcome<>(null, error);
    }

    static <T> Outcome<T> fail(Throwable t) {
        String msg = t.getMessage();
        return new Outcome<>(null, msg == null || msg.isEmpty() ? t.getClass().getSimpleName() : msg);
    }

    boolean ok() {
        return error == null;
    }
}
