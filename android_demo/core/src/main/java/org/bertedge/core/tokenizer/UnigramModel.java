package org.bertedge.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The SentencePiece {@code Unigram} model of a tokenizer.json, as Hugging Face's
 * {@code Unigram::encode_optimized} runs it: the best-scoring segmentation (Viterbi over code
 * point positions; a candidate replaces the best one only when strictly better, so the earliest
 * start wins a tie), where a position no single-code-point piece covers gets the unknown piece at
 * {@code min score - 10}; consecutive unknowns are fused into one; a fused unknown becomes byte
 * pieces {@code <0xAB>} with {@code byte_fallback} (when all exist), else the unk id. Scores are
 * doubles read like serde_json reads them ({@link SerdeFloat}): ties are decided on exact bits.
 */
final class UnigramModel implements SubwordModel {
    private static final double UNK_PENALTY = 10.0;

    private final String[] pieces;
    private final double[] scores;
    private final Map<String, Integer> ids;
    private final int unkId;
    private final boolean byteFallback;
    private final double unkScore;
    /** Longest piece (in code points) by its first code point: bounds the lookups per position. */
    private final Map<Integer, Integer> maxLengthByFirst = new HashMap<>();

    /** @param unkId -1 when the model has none */
    UnigramModel(List<String> pieces, double[] scores, int unkId, boolean byteFallback) {
        this.pieces = pieces.toArray(new String[0]);
        this.scores = scores.clone();
        this.ids = new HashMap<>(pieces.size() * 2);
        double min = Double.POSITIVE_INFINITY;
        for (int i = 0; i < this.pieces.length; i++) {
            String p = this.pieces[i];
            ids.put(p, i); // a repeated piece keeps its last id, as in HF
            if (scores[i] < min) {
                min = scores[i];
            }
            if (!p.isEmpty()) {
                maxLengthByFirst.merge(p.codePointAt(0), p.codePointCount(0, p.length()), Math::max);
            }
        }
        if (unkId >= this.pieces.length) {
            throw new IllegalArgumentException("unk_id " + unkId + " is outside the vocabulary of " + this.pieces.length);
        }
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        this.unkScore = min - UNK_PENALTY;
    }

    @Override
    public int tokenToId(String token) {
        Integer id = ids.get(token);
        return id == null ? -1 : id;
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < pieces.length ? pieces[id] : null;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public void tokenize(NormalizedText piece, CharTables.IntList out) {
        int n = piece.len;
        if (n == 0) {
            return;
        }
        String s = new String(piece.cps, 0, n);
        int[] at = new int[n + 1]; // code point index → UTF-16 index
        for (int i = 0, u = 0; i <= n; i++) {
            at[i] = u;
            if (i < n) {
                u += Character.charCount(piece.cps[i]);
            }
        }
        double[] best = new double[n + 1];
        int[] from = new int[n + 1];
        int[] tok = new int[n + 1];
        java.util.Arrays.fill(from, -1);
        for (int start = 0; start < n; start++) {
            double here = best[start];
            boolean single = false;
            Integer longest = maxLengthByFirst.get(piece.cps[start]);
            int maxEnd = longest == null ? start : Math.min(n, start + longest);
            // every piece that starts here, shortest first (the trie order of HF)
            for (int end = start + 1; end <= maxEnd; end++) {
                Integer id = ids.get(s.substring(at[start], at[end]));
                if (id == null) {
                    continue;
                }
                double cand = scores[id] + here;
                if (from[end] < 0 || cand > best[end]) {
                    best[end] = cand;
                    from[end] = start;
                    tok[end] = id;
                }
                if (end == start + 1) {
                    single = true;
                }
            }
            if (!single) {
                if (unkId < 0) {
                    throw new IllegalArgumentException("'" + new String(piece.cps, start, 1)
                            + "' is not in the vocabulary and the Unigram model has no unk_id");
                }
                double cand = unkScore + here;
                if (from[start + 1] < 0 || cand > best[start + 1]) {
                    best[start + 1] = cand;
                    from[start + 1] = start;
                    tok[start + 1] = unkId;
                }
            }
        }
        // back from the end; runs of unknowns fuse into one string
        int[] starts = new int[n];
        int[] ends = new int[n];
        boolean[] unk = new boolean[n];
        int k = 0;
        int end = n;
        int unkEnd = -1;
        while (end > 0) {
            int start = from[end];
            if (tok[end] == unkId) {
                if (unkEnd < 0) {
                    unkEnd = end;
                }
            } else {
                if (unkEnd >= 0) {
                    starts[k] = end;
                    ends[k] = unkEnd;
                    unk[k++] = true;
                    unkEnd = -1;
                }
                starts[k] = start;
                ends[k] = end;
                unk[k++] = false;
            }
            end = start;
        }
        if (unkEnd >= 0) {
            starts[k] = 0;
            ends[k] = unkEnd;
            unk[k++] = true;
        }
        for (int i = k - 1; i >= 0; i--) {
            String str = s.substring(at[starts[i]], at[ends[i]]);
            Integer id = ids.get(str);
            if (id != null) {
                out.add(id);
            } else if (!byteFallback || !addBytes(str, out)) {
                out.add(unkId);
            }
        }
    }

    /** {@code <0xAB>} for every UTF-8 byte, when every one is in the vocabulary. */
    private boolean addBytes(String str, CharTables.IntList out) {
        byte[] b = str.getBytes(StandardCharsets.UTF_8);
        int[] got = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            Integer id = ids.get(String.format(Locale.ROOT, "<0x%02X>", b[i] & 0xFF));
            if (id == null) {
                return false;
            }
            got[i] = id;
        }
        for (int id : got) {
            out.add(id);
        }
        return true;
    }
}
