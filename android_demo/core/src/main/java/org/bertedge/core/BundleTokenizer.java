package org.bertedge.core;

import java.io.IOException;
import java.io.InputStream;

import org.bertedge.core.tokenizer.BertTokenizer;
import org.bertedge.core.tokenizer.PipelineTokenizer;
import org.bertedge.core.tokenizer.TextTokenizer;
import org.bertedge.core.tokenizer.TokenizerJson;
import org.bertedge.core.tokenizer.Vocab;

/**
 * The tokenizer a bundle's manifest names ({@link Manifest#tokenizer}): WordPiece from vocab.txt
 * with the manifest's casing, or byte-level BPE / SentencePiece Unigram from tokenizer.json. The
 * caller opens the file (and checks its sha256 first); every problem is a {@link BundleException}
 * naming the file.
 */
public final class BundleTokenizer {
    private BundleTokenizer() {}

    public static TextTokenizer read(Manifest m, InputStream in) throws BundleException {
        Manifest.TokenizerEntry t = m.tokenizer;
        String file = t.file.file;
        try {
            if (Manifest.TokenizerEntry.WORDPIECE.equals(t.type)) {
                return new BertTokenizer(Vocab.read(in), m.doLowerCase, m.stripAccents);
            }
            TokenizerJson.ScoreParsing scores = t.unigramScores == null ? TokenizerJson.ScoreParsing.EXACT
                    : TokenizerJson.ScoreParsing.of(t.unigramScores);
            PipelineTokenizer tok = TokenizerJson.read(in, t.padId, scores);
            if (!tok.type().equals(t.type)) {
                throw new BundleException(file + ": manifest.json says the tokenizer is " + t.type + ", but the file holds a "
                        + tok.type() + " model; re-run `bert-edge bundle`");
            }
            return tok;
        } catch (IOException | IllegalArgumentException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage();
            throw new BundleException(msg.startsWith(file) ? msg : file + ": " + msg, e);
        }
    }
}
