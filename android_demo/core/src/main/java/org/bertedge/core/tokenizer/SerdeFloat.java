package org.bertedge.core.tokenizer;

/**
 * Decimal text → double exactly as {@code serde_json} (without its {@code float_roundtrip}
 * feature, as {@code tokenizers} builds it) converts it: the digits as a u64 significand (digits
 * past u64 dropped), then one multiplication or division by a power of ten. That is not always
 * the correctly rounded double Java's {@code Double.parseDouble} gives: 17-digit Unigram scores
 * in a tokenizer.json can come out one ulp apart, and the Viterbi search compares scores exactly.
 */
final class SerdeFloat {
    private static final double[] POW10 = new double[309];

    static {
        for (int i = 0; i < POW10.length; i++) {
            POW10[i] = Double.parseDouble("1e" + i); // the nearest double, like Rust's literals
        }
    }

    private SerdeFloat() {}

    static double parse(String text) {
        int i = 0;
        int n = text.length();
        boolean positive = true;
        if (i < n && text.charAt(i) == '-') {
            positive = false;
            i++;
        }
        long significand = 0; // unsigned
        int exponent = 0;
        boolean overflowed = false;
        // integer part
        while (i < n && isDigit(text.charAt(i))) {
            int d = text.charAt(i++) - '0';
            if (!overflowed && overflows(significand, d)) {
                overflowed = true;
            }
            if (overflowed) {
                exponent++; // parse_long_integer: further integer digits only scale
            } else {
                significand = significand * 10 + d;
            }
        }
        if (i < n && text.charAt(i) == '.') {
            i++;
            boolean ignore = false; // parse_decimal_overflow: digits after an overflow are ignored
            while (i < n && isDigit(text.charAt(i))) {
                int d = text.charAt(i++) - '0';
                if (!ignore && overflows(significand, d)) {
                    ignore = true;
                }
                if (!ignore) {
                    significand = significand * 10 + d;
                    exponent--;
                }
            }
        }
        if (i < n && (text.charAt(i) == 'e' || text.charAt(i) == 'E')) {
            i++;
            boolean positiveExp = true;
            if (i < n && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
                positiveExp = text.charAt(i) == '+';
                i++;
            }
            long exp = 0;
            while (i < n && isDigit(text.charAt(i))) {
                exp = exp * 10 + (text.charAt(i++) - '0');
                if (exp > Integer.MAX_VALUE) { // parse_exponent_overflow
                    if (significand != 0 && positiveExp) {
                        throw new NumberFormatException("number out of range: " + text);
                    }
                    return positive ? 0.0 : -0.0;
                }
            }
            long e = positiveExp ? (long) exponent + exp : (long) exponent - exp;
            exponent = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, e));
        }
        if (i != n) {
            throw new NumberFormatException("not a JSON number: " + text);
        }
        double f = unsignedToDouble(significand);
        while (true) {
            int abs = Math.abs(exponent);
            if (abs < POW10.length) {
                if (exponent >= 0) {
                    f *= POW10[abs];
                    if (Double.isInfinite(f)) {
                        throw new NumberFormatException("number out of range: " + text);
                    }
                } else {
                    f /= POW10[abs];
                }
                break;
            }
            if (f == 0.0) {
                break;
            }
            if (exponent >= 0) {
                throw new NumberFormatException("number out of range: " + text);
            }
            f /= 1e308;
            exponent += 308;
        }
        return positive ? f : -f;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** u64::MAX / 10 and u64::MAX % 10 (Long's unsigned helpers need Android API 26). */
    private static final long U64_MAX_DIV_10 = 1844674407370955161L;
    private static final int U64_MAX_REM_10 = 5;

    /** Whether {@code s * 10 + d} exceeds u64::MAX (serde_json's overflow! macro). */
    private static boolean overflows(long s, int d) {
        int c = Long.compare(s + Long.MIN_VALUE, U64_MAX_DIV_10 + Long.MIN_VALUE); // unsigned compare
        return c > 0 || (c == 0 && d > U64_MAX_REM_10);
    }

    /** u64 → f64 rounding to nearest, ties to even (Rust's {@code as f64}). */
    private static double unsignedToDouble(long u) {
        if (u >= 0) {
            return (double) u;
        }
        // halve with the lowest bit kept sticky, convert, double: rounds like the exact value
        double d = (double) ((u >>> 1) | (u & 1));
        return d * 2.0;
    }
}
