package org.bertedge.core.tokenizer;

import java.util.List;

/**
 * Text → token ids, the part of a tokenizer that differs between model families: WordPiece
 * ({@link BertTokenizer}, from vocab.txt), byte-level BPE and SentencePiece Unigram
 * ({@link PipelineTokenizer}, from tokenizer.json). The {@link Encoder} adds the special tokens of
 * {@link #template()}, truncates and pads the same way for all of them. Implementations are
 * thread-safe.
 */
public interface TextTokenizer {
    String TYPE_WORDPIECE = "wordpiece";
    String TYPE_BPE = "bpe";
    String TYPE_UNIGRAM = "unigram";

    /** Ids of one text without the template's special tokens ({@code add_special_tokens=False}). */
    List<Integer> tokenIds(String text);

    /** Where the special tokens go around one or two sequences, and their token types. */
    SpecialTokensTemplate template();

    /** The id padding positions get. */
    int padId();

    /** Vocabulary string of an id (display, diagnostics), or null. */
    String idToToken(int id);

    int vocabSize();

    /** {@link #TYPE_WORDPIECE}, {@link #TYPE_BPE} or {@link #TYPE_UNIGRAM}. */
    String type();
}
