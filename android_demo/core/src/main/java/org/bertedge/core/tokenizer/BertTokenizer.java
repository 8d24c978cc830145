package org.bertedge.core.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Text → WordPiece ids, without {@code [CLS]}/{@code [SEP]} (see {@link Encoder}); equal to
 * {@code tokenizer(text, add_special_tokens=False)["input_ids"]} of the Hugging Face fast BERT
 * tokenizer. Special tokens written literally in the text ({@code [MASK]}, {@code [SEP]}, ...,
 * case-sensitive) are recognized before normalization and kept whole, as HF does for its
 * non-normalized added tokens. Thread-safe.
 */
public final class BertTokenizer implements TextTokenizer {
    private final Vocab vocab;
    private final BasicTokenizer basic;
    private final WordPieceTokenizer wordPiece;
    private final List<String> specials;
    private final SpecialTokensTemplate template;

    public BertTokenizer(Vocab vocab, boolean lowercase, Boolean stripAccents) {
        this.vocab = vocab;
        this.basic = new BasicTokenizer(lowercase, stripAccents);
        this.wordPiece = new WordPieceTokenizer(vocab);
        this.specials = vocab.specialTokens();
        this.template = SpecialTokensTemplate.bert(vocab.clsId(), vocab.sepId());
    }

    /** An uncased tokenizer (lowercase + strip accents), the MiniLM/BERT-uncased setting. */
    public static BertTokenizer uncased(Vocab vocab) {
        return new BertTokenizer(vocab, true, null);
    }

    public Vocab vocab() {
        return vocab;
    }

    public BasicTokenizer basic() {
        return basic;
    }

    @Override
    public SpecialTokensTemplate template() {
        return template;
    }

    @Override
    public int padId() {
        return vocab.padId();
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < vocab.size() ? vocab.token(id) : null;
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public String type() {
        return TYPE_WORDPIECE;
    }

    @Override
    public List<Integer> tokenIds(String text) {
        List<Integer> ids = new ArrayList<>();
        int pos = 0;
        while (pos <= text.length()) {
            // leftmost special token; at equal start, the longest
            int best = -1;
            String bestTok = null;
            for (String sp : specials) {
                int i = text.indexOf(sp, pos);
                if (i >= 0 && (best < 0 || i < best || (i == best && sp.length() > bestTok.length()))) {
                    best = i;
                    bestTok = sp;
                }
            }
            int end = best < 0 ? text.length() : best;
            if (end > pos) {
                for (String word : basic.tokenize(text.substring(pos, end))) {
                    wordPiece.tokenize(word, ids);
                }
            }
            if (best < 0) {
                break;
            }
            ids.add(vocab.id(bestTok));
            pos = best + bestTok.length();
        }
        return ids;
    }

    /** The tokens (vocabulary strings) of {@link #tokenIds}, for display. */
    public List<String> tokens(String text) {
        List<String> out = new ArrayList<>();
        for (int id : tokenIds(text)) {
            out.add(vocab.token(id));
        }
        return out;
    }
}
