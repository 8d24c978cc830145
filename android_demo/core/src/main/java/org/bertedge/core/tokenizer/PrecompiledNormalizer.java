package org.bertedge.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code Precompiled} normalizer: SentencePiece's compiled normalization rules (XLM-R,
 * ALBERT, T5, ...), run exactly as Hugging Face's {@code spm_precompiled} crate runs them.
 * <p>
 * The charsmap is {@code [u32 trie size][trie: u32 units][normalized strings, NUL-ended]}: a
 * Darts double-array trie over UTF-8 bytes whose values are offsets into the strings. The text is
 * walked by grapheme cluster: a cluster shorter than 6 UTF-8 bytes that the trie knows is
 * replaced whole, else each code point is looked up alone. "Knows" means the SHORTEST key that
 * is a prefix of the cluster, and its replacement stands for the whole cluster: {@code "ﬁ" +
 * U+0301} becomes {@code "fi"}, dropping the accent. That is what HF does (its comment: "Yes,
 * this seems broken"), so it is what we do.
 */
final class PrecompiledNormalizer implements Normalizer {
    private final long[] trie;
    private final byte[] normalized;
    /** Decoded replacements by offset (thread-safe: tokenizers are shared). */
    private final Map<Integer, int[]> cache = new ConcurrentHashMap<>();

    PrecompiledNormalizer(byte[] charsmap) {
        if (charsmap.length < 4) {
            throw new IllegalArgumentException("precompiled_charsmap is too short (" + charsmap.length + " bytes)");
        }
        long trieSize = u32(charsmap, 0);
        long units = trieSize / 4;
        if (4 + units * 4 > charsmap.length) {
            throw new IllegalArgumentException("precompiled_charsmap: trie of " + trieSize
                    + " bytes does not fit in " + charsmap.length + " bytes");
        }
        trie = new long[(int) units];
        for (int i = 0; i < units; i++) {
            trie[i] = u32(charsmap, 4 + 4 * i);
        }
        int off = 4 + (int) units * 4;
        normalized = java.util.Arrays.copyOfRange(charsmap, off, charsmap.length);
        if (!validUtf8(normalized)) {
            throw new IllegalArgumentException("precompiled_charsmap: the normalized strings are not valid UTF-8");
        }
    }

    @Override
    public void normalize(NormalizedText t) {
        NormalizedText.Edits e = new NormalizedText.Edits(t.len + 8);
        boolean modified = false;
        int start = 0;
        for (int end : Graphemes.ends(t.cps, t.len)) {
            if (utf8Length(t.cps, start, end) < 6) {
                int[] norm = lookup(utf8(t.cps, start, end));
                if (norm != null) {
                    modified = true;
                    replace(e, end - start, norm);
                    start = end;
                    continue;
                }
            }
            for (int i = start; i < end; i++) {
                int[] norm = lookup(utf8(t.cps, i, i + 1));
                if (norm != null) {
                    modified = true;
                    replace(e, 1, norm);
                } else {
                    e.add(t.cps[i], 0);
                }
            }
            start = end;
        }
        if (modified) {
            t.transform(e, 0);
        }
    }

    /** The crate's {@code replace}: new code points, changes of the tail (or the last one) adjusted. */
    private static void replace(NormalizedText.Edits e, int oldCount, int[] norm) {
        int diff = norm.length - oldCount;
        for (int c : norm) {
            e.add(c, 0);
        }
        if (diff > 0) {
            for (int k = 0; k < diff; k++) {
                e.changes[e.n - 1 - k] = 1;
            }
        } else if (diff < 0 && e.n > 0) {
            e.changes[e.n - 1] += diff;
        }
    }

    /** Replacement of the shortest trie key that prefixes {@code key}, or null. */
    private int[] lookup(byte[] key) {
        int value = shortestPrefixValue(key);
        if (value < 0) {
            return null;
        }
        int[] cached = cache.get(value);
        if (cached == null) {
            int end = value;
            while (end < normalized.length && normalized[end] != 0) {
                end++;
            }
            cached = new String(normalized, value, end - value, StandardCharsets.UTF_8).codePoints().toArray();
            cache.put(value, cached);
        }
        return cached;
    }

    /** Darts {@code commonPrefixSearch}, stopping at the first (shortest) hit. */
    int shortestPrefixValue(byte[] key) {
        int pos = 0;
        if (trie.length == 0) {
            return -1;
        }
        long unit = trie[0];
        pos ^= offset(unit);
        for (byte b : key) {
            int c = b & 0xFF;
            if (c == 0) {
                break;
            }
            pos ^= c;
            if (pos < 0 || pos >= trie.length) {
                return -1;
            }
            unit = trie[pos];
            if (label(unit) != c) {
                return -1;
            }
            pos ^= offset(unit);
            if (((unit >>> 8) & 1) == 1) {
                if (pos < 0 || pos >= trie.length) {
                    return -1;
                }
                return (int) (trie[pos] & ((1L << 31) - 1));
            }
        }
        return -1;
    }

    private static long label(long unit) {
        return unit & ((1L << 31) | 0xFF);
    }

    private static int offset(long unit) {
        return (int) ((unit >>> 10) << ((unit & (1L << 9)) >>> 6));
    }

    private static long u32(byte[] b, int i) {
        return (b[i] & 0xFFL) | (b[i + 1] & 0xFFL) << 8 | (b[i + 2] & 0xFFL) << 16 | (b[i + 3] & 0xFFL) << 24;
    }

    private static int utf8Length(int[] cps, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            int c = cps[i];
            n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        }
        return n;
    }

    private static byte[] utf8(int[] cps, int from, int to) {
        return new String(cps, from, to - from).getBytes(StandardCharsets.UTF_8);
    }

    private static boolean validUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }
}
