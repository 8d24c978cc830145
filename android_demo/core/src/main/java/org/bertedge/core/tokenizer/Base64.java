package org.bertedge.core.tokenizer;

/**
 * Standard base64 (RFC 4648, with padding) decoding, for the Precompiled charsmap:
 * {@code java.util.Base64} needs Android API 26, the app runs from 24.
 */
final class Base64 {
    private static final int[] VALUE = new int[128];

    static {
        java.util.Arrays.fill(VALUE, -1);
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < alphabet.length(); i++) {
            VALUE[alphabet.charAt(i)] = i;
        }
    }

    private Base64() {}

    static byte[] decode(String s) {
        int len = s.length();
        while (len > 0 && s.charAt(len - 1) == '=') {
            len--;
        }
        if (s.length() % 4 != 0 || s.length() - len > 2) {
            throw new IllegalArgumentException("not valid base64 (length " + s.length() + ")");
        }
        byte[] out = new byte[len * 3 / 4];
        int acc = 0;
        int bits = 0;
        int k = 0;
        for (int i = 0; i < len; i++) {
            char c = s.charAt(i);
            int v = c < 128 ? VALUE[c] : -1;
            if (v < 0) {
                throw new IllegalArgumentException("not valid base64 (character " + (int) c + " at " + i + ")");
            }
            acc = (acc << 6) | v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[k++] = (byte) (acc >> bits);
                acc &= (1 << bits) - 1;
            }
        }
        return k == out.length ? out : java.util.Arrays.copyOf(out, k);
    }
}
