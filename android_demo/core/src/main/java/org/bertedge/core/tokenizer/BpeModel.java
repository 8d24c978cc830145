package org.bertedge.core.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code BPE} model of a tokenizer.json, as Hugging Face's {@code models::bpe} runs it: the
 * piece starts as one symbol per code point (with the continuing-subword prefix / end-of-word
 * suffix when set), unknown symbols go to byte fallback ({@code <0xAB>}) or the unk token (fused
 * when {@code fuse_unk}), then merges apply lowest rank first (leftmost among equal ranks) until
 * none is left. {@code ignore_merges} takes a piece that is itself in the vocabulary as is.
 * Dropout is a training option and refused when loading.
 */
final class BpeModel implements SubwordModel {
    private final Map<String, Integer> vocab;
    private final String[] byId;
    /** (left id, right id) → rank; the merged id is {@link #mergedId}[rank]. */
    private final Map<Long, Integer> ranks = new HashMap<>();
    private final int[] mergedId;
    private final String unkToken;
    private final String prefix;
    private final String suffix;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;

    /** @param merges pairs of vocabulary strings, by rank */
    BpeModel(Map<String, Integer> vocab, List<String[]> merges, String unkToken, String prefix, String suffix,
             boolean fuseUnk, boolean byteFallback, boolean ignoreMerges) {
        this.vocab = vocab;
        int max = -1;
        for (int id : vocab.values()) {
            max = Math.max(max, id);
        }
        byId = new String[max + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            byId[e.getValue()] = e.getKey();
        }
        this.unkToken = unkToken;
        this.prefix = prefix;
        this.suffix = suffix;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        mergedId = new int[merges.size()];
        int prefixLen = prefix == null ? 0 : prefix.length();
        for (int rank = 0; rank < merges.size(); rank++) {
            String a = merges.get(rank)[0];
            String b = merges.get(rank)[1];
            Integer ia = vocab.get(a);
            Integer ib = vocab.get(b);
            if (ia == null || ib == null) {
                throw new IllegalArgumentException("merge " + rank + " (" + a + " " + b + "): "
                        + (ia == null ? a : b) + " is not in the vocabulary");
            }
            // the merged token drops the right part's continuing-subword prefix
            String merged = a + (prefixLen > 0 && b.startsWith(prefix) ? b.substring(prefixLen) : b);
            Integer im = vocab.get(merged);
            if (im == null) {
                throw new IllegalArgumentException("merge " + rank + " (" + a + " " + b + "): " + merged
                        + " is not in the vocabulary");
            }
            mergedId[rank] = im;
            ranks.put(PipelineTables.pairKey(ia, ib), rank); // a repeated pair keeps its last rank, as in HF
        }
        if (unkToken != null && !vocab.containsKey(unkToken)) {
            throw new IllegalArgumentException("unk_token " + unkToken + " is not in the vocabulary");
        }
    }

    @Override
    public int tokenToId(String token) {
        Integer id = vocab.get(token);
        return id == null ? -1 : id;
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < byId.length ? byId[id] : null;
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public void tokenize(NormalizedText piece, CharTables.IntList out) {
        if (piece.len == 0) {
            return;
        }
        if (ignoreMerges) {
            Integer whole = vocab.get(piece.toString());
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        // symbols: id + doubly linked neighbours; len 0 = merged away
        int n = piece.len;
        int[] ids = new int[n * 4 + 4];
        int count = 0;
        int unkId = -1;
        for (int i = 0; i < n; i++) {
            String s = new String(piece.cps, i, 1);
            if (i > 0 && prefix != null) {
                s = prefix + s;
            }
            if (i == n - 1 && suffix != null) {
                s = s + suffix;
            }
            Integer id = vocab.get(s);
            if (id != null) {
                if (unkId >= 0) {
                    ids = push(ids, count++, unkId);
                    unkId = -1;
                }
                ids = push(ids, count++, id);
                continue;
            }
            if (byteFallback) {
                byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
                int[] fb = new int[bytes.length];
                boolean all = true;
                for (int k = 0; k < bytes.length && all; k++) {
                    Integer b = vocab.get(String.format(java.util.Locale.ROOT, "<0x%02X>", bytes[k] & 0xFF));
                    all = b != null;
                    fb[k] = all ? b : -1;
                }
                if (all) {
                    // HF adds them without flushing a pending unk first: same order here
                    for (int b : fb) {
                        ids = push(ids, count++, b);
                    }
                    continue;
                }
            }
            if (unkToken != null) {
                int unk = vocab.get(unkToken);
                if (unkId >= 0 && !fuseUnk) {
                    ids = push(ids, count++, unkId);
                }
                unkId = unk;
            }
        }
        if (unkId >= 0) {
            ids = push(ids, count++, unkId);
        }
        mergeAll(ids, count, out);
    }

    private static int[] push(int[] a, int at, int v) {
        if (at == a.length) {
            a = Arrays.copyOf(a, a.length * 2);
        }
        a[at] = v;
        return a;
    }

    /** {@code Word::merge_all}: a heap of (rank, position), stale entries skipped. */
    private void mergeAll(int[] id, int count, CharTables.IntList out) {
        int[] prev = new int[count];
        int[] next = new int[count];
        boolean[] gone = new boolean[count];
        for (int i = 0; i < count; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }
        LongHeap heap = new LongHeap(count + 4);
        for (int i = 0; i + 1 < count; i++) {
            Integer r = ranks.get(PipelineTables.pairKey(id[i], id[i + 1]));
            if (r != null) {
                heap.push(((long) r << 32) | i);
            }
        }
        while (heap.size() > 0) {
            long top = heap.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            if (gone[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            Integer now = ranks.get(PipelineTables.pairKey(id[pos], id[right]));
            if (now == null || mergedId[now] != mergedId[rank]) {
                continue; // the pair changed since this entry was pushed
            }
            id[pos] = mergedId[rank];
            gone[right] = true;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            if (prev[pos] >= 0) {
                Integer r = ranks.get(PipelineTables.pairKey(id[prev[pos]], id[pos]));
                if (r != null) {
                    heap.push(((long) r << 32) | prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                Integer r = ranks.get(PipelineTables.pairKey(id[pos], id[next[pos]]));
                if (r != null) {
                    heap.push(((long) r << 32) | pos);
                }
            }
        }
        for (int i = 0; i < count; i++) {
            if (!gone[i]) {
                out.add(id[i]);
            }
        }
    }

    /** A binary min-heap of longs (rank in the high half, position in the low half). */
    private static final class LongHeap {
        private long[] a;
        private int n;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        int size() {
            return n;
        }

        void push(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            int i = n++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) {
                    break;
                }
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0];
            long last = a[--n];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= n) {
                    break;
                }
                if (c + 1 < n && a[c + 1] < a[c]) {
                    c++;
                }
                if (a[c] >= last) {
                    break;
                }
                a[i] = a[c];
                i = c;
            }
            if (n > 0) {
                a[i] = last;
            }
            return top;
        }
    }
}
