package org.bertedge.core.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A WordPiece vocabulary read from {@code vocab.txt}: one token per line, id = line index, as
 * Hugging Face's {@code BertTokenizer(Fast)} reads it. Only {@code \n} ends a line (a trailing
 * {@code \r} is dropped); other characters, U+2028 included, are part of the token.
 */
public final class Vocab {
    public static final String PAD = "[PAD]";
    public static final String UNK = "[UNK]";
    public static final String CLS = "[CLS]";
    public static final String SEP = "[SEP]";
    public static final String MASK = "[MASK]";

    private final Map<String, Integer> ids;
    private final List<String> tokens;

    private Vocab(List<String> tokens) {
        this.tokens = Collections.unmodifiableList(tokens);
        this.ids = new HashMap<>(tokens.size() * 2);
        for (int i = 0; i < tokens.size(); i++) {
            // a duplicated line keeps its last id, like HF's dict-based loader
            ids.put(tokens.get(i), i);
        }
        for (String special : new String[] {UNK, CLS, SEP, PAD}) {
            if (!ids.containsKey(special)) {
                throw new IllegalArgumentException("vocab.txt has no " + special + " token");
            }
        }
    }

    public static Vocab fromTokens(List<String> tokens) {
        return new Vocab(new ArrayList<>(tokens));
    }

    /** Read a vocab.txt stream (UTF-8; malformed bytes are an error). The stream is not closed. */
    public static Vocab read(InputStream in) throws IOException {
        String text = Utf8.readStrict(in, "vocab.txt", 1 << 18);
        return parse(text);
    }

    public static Vocab parse(String text) {
        List<String> toks = new ArrayList<>(32000);
        int start = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            int end = nl < 0 ? text.length() : nl;
            int e = end;
            if (e > start && text.charAt(e - 1) == '\r') {
                e--;
            }
            toks.add(text.substring(start, e));
            start = end + 1;
        }
        return new Vocab(toks);
    }

    public int size() {
        return tokens.size();
    }

    /** Id of {@code token}, or -1. */
    public int id(String token) {
        Integer i = ids.get(token);
        return i == null ? -1 : i;
    }

    public boolean contains(String token) {
        return ids.containsKey(token);
    }

    public String token(int id) {
        return tokens.get(id);
    }

    public int unkId() {
        return ids.get(UNK);
    }

    public int clsId() {
        return ids.get(CLS);
    }

    public int sepId() {
        return ids.get(SEP);
    }

    public int padId() {
        return ids.get(PAD);
    }

    /** The special tokens matched verbatim in input text (before normalization), as HF does. */
    public List<String> specialTokens() {
        List<String> out = new ArrayList<>();
        for (String s : new String[] {PAD, UNK, CLS, SEP, MASK}) {
            if (ids.containsKey(s)) {
                out.add(s);
            }
        }
        return out;
    }
}
