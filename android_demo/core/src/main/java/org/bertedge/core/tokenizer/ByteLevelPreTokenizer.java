package org.bertedge.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code ByteLevel} pre-tokenizer of GPT-2 / RoBERTa: optionally a space before the piece
 * ({@code add_prefix_space}), a split by the GPT-2 regex
 * <pre>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</pre>
 * then every UTF-8 byte of each piece mapped to one printable code point (the GPT-2 byte
 * alphabet, 'Ġ' for the space). The regex is hand-written here (its alternatives are leftmost,
 * its quantifiers greedy) over \p{L}, \p{N} and \s as Oniguruma inside {@code tokenizers}
 * classifies them ({@link UnicodeTables}), so no regex engine's Unicode version is involved.
 */
final class ByteLevelPreTokenizer implements PreTokenizer {
    private static final int[] BYTE_TO_CP = byteAlphabet();
    private static final int LETTER = 1;
    private static final int NUMBER = 2;
    private static final int SPACE = 3;
    private static final int OTHER = 4;

    private final boolean addPrefixSpace;
    private final boolean useRegex;
    private final PipelineTables tables = PipelineTables.get();

    ByteLevelPreTokenizer(boolean addPrefixSpace, boolean useRegex) {
        this.addPrefixSpace = addPrefixSpace;
        this.useRegex = useRegex;
    }

    /** GPT-2's bytes_to_unicode: printable bytes map to themselves, the others from U+0100 up. */
    private static int[] byteAlphabet() {
        int[] map = new int[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) direct[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) direct[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) direct[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) {
            map[b] = direct[b] ? b : 256 + n++;
        }
        return map;
    }

    @Override
    public void split(NormalizedText piece, List<NormalizedText> out) {
        if (addPrefixSpace && (piece.len == 0 || piece.cps[0] != ' ')) {
            piece.prepend(new int[] {' '});
        }
        if (piece.len == 0) {
            return;
        }
        if (!useRegex) {
            out.add(toBytes(piece, 0, piece.len));
            return;
        }
        int[] cls = new int[piece.len];
        for (int i = 0; i < piece.len; i++) {
            int c = piece.cps[i];
            cls[i] = tables.blLetter.contains(c) ? LETTER : tables.blNumber.contains(c) ? NUMBER
                    : tables.blSpace.contains(c) ? SPACE : OTHER;
        }
        int i = 0;
        while (i < piece.len) {
            int end = match(piece.cps, cls, piece.len, i);
            out.add(toBytes(piece, i, end));
            i = end;
        }
    }

    /** End of the regex match that starts at {@code i} (every position starts one). */
    private static int match(int[] s, int[] cls, int n, int i) {
        if (s[i] == '\'' && i + 1 < n) {
            int a = s[i + 1];
            int b = i + 2 < n ? s[i + 2] : -1;
            if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
            if ((a == 'r' || a == 'v') && b == 'e') return i + 3;
            if (a == 'l' && b == 'l') return i + 3;
        }
        // ' ?X+' for X = letters, numbers, or neither-nor-space: the space only before an X
        int j = s[i] == ' ' && i + 1 < n && cls[i + 1] != SPACE ? i + 1 : i;
        int k = cls[j];
        if (k != SPACE) {
            int e = j + 1;
            while (e < n && cls[e] == k) e++;
            return e;
        }
        int e = i;
        while (e < n && cls[e] == SPACE) e++;
        // \s+(?!\S): a run before a non-space gives its last space to the next match
        if (e < n && e - i > 1) e--;
        return e;
    }

    /** The piece {@code [from, to)} with each UTF-8 byte as one alphabet code point. */
    private static NormalizedText toBytes(NormalizedText p, int from, int to) {
        NormalizedText s = p.slice(from, to);
        byte[] utf8 = new String(s.cps, 0, s.len).getBytes(StandardCharsets.UTF_8);
        int[] cps = new int[utf8.length];
        int[] align = new int[utf8.length];
        for (int i = 0, k = 0; i < s.len; i++) {
            int c = s.cps[i];
            int nb = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
            for (int b = 0; b < nb; b++, k++) {
                cps[k] = BYTE_TO_CP[utf8[k] & 0xFF];
                align[k] = s.align[i];
            }
        }
        return new NormalizedText(cps, cps.length, align, s.shift);
    }
}
