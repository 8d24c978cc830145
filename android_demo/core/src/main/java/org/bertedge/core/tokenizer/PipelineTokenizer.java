package org.bertedge.core.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A Hugging Face tokenizer.json pipeline, run as {@code Tokenizer.encode} runs it: added tokens
 * out of the raw text, normalizer on the rest, added tokens out of the normalized pieces,
 * pre-tokenizer, model. Byte-level BPE (RoBERTa, GPT-2) and SentencePiece Unigram (XLM-R,
 * ALBERT) are both this class with other parts; {@link TokenizerJson} builds it. Thread-safe:
 * every part is immutable after loading.
 */
public final class PipelineTokenizer implements TextTokenizer {
    private final String type;
    private final AddedTokens added;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final SubwordModel model;
    private final SpecialTokensTemplate template;
    private final int padId;

    PipelineTokenizer(String type, AddedTokens added, Normalizer normalizer, PreTokenizer preTokenizer,
                      SubwordModel model, SpecialTokensTemplate template, int padId) {
        this.type = type;
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.template = template;
        this.padId = padId;
    }

    @Override
    public List<Integer> tokenIds(String text) {
        List<AddedTokens.Piece> raw = new ArrayList<>();
        added.splitRaw(NormalizedText.of(text), raw);
        List<AddedTokens.Piece> pieces = new ArrayList<>();
        for (AddedTokens.Piece p : raw) {
            if (p.id >= 0) {
                pieces.add(p);
                continue;
            }
            if (normalizer != null) {
                normalizer.normalize(p.text);
            }
            added.splitNormalized(p.text, pieces);
        }
        CharTables.IntList ids = new CharTables.IntList(text.length() + 8);
        List<NormalizedText> words = new ArrayList<>();
        for (AddedTokens.Piece p : pieces) {
            if (p.id >= 0) {
                ids.add(p.id);
                continue;
            }
            words.clear();
            if (preTokenizer == null) {
                words.add(p.text);
            } else {
                preTokenizer.split(p.text, words);
            }
            for (NormalizedText w : words) {
                model.tokenize(w, ids);
            }
        }
        List<Integer> out = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            out.add(ids.get(i));
        }
        return out;
    }

    /** The normalizer's output for a whole text (diagnostics; null normalizer: the text). */
    public String normalize(String text) {
        NormalizedText t = NormalizedText.of(text);
        if (normalizer != null) {
            normalizer.normalize(t);
        }
        return t.toString();
    }

    @Override
    public SpecialTokensTemplate template() {
        return template;
    }

    @Override
    public int padId() {
        return padId;
    }

    @Override
    public String idToToken(int id) {
        for (AddedTokens.Token t : added.tokens()) {
            if (t.id == id) {
                return t.content;
            }
        }
        return model.idToToken(id);
    }

    /** Id of a vocabulary string or added token, or -1. */
    public int tokenToId(String token) {
        int id = added.id(token);
        return id >= 0 ? id : model.tokenToId(token);
    }

    @Override
    public int vocabSize() {
        int n = model.vocabSize();
        for (AddedTokens.Token t : added.tokens()) {
            n = Math.max(n, t.id + 1);
        }
        return n;
    }

    @Override
    public String type() {
        return type;
    }
}
