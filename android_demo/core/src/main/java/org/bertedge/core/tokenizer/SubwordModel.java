package org.bertedge.core.tokenizer;

/** The {@code model} of a tokenizer.json: one pre-tokenized piece → token ids. */
interface SubwordModel {
    void tokenize(NormalizedText piece, CharTables.IntList out);

    /** Id of a vocabulary string, or -1. */
    int tokenToId(String token);

    /** Vocabulary string of an id, or null. */
    String idToToken(int id);

    int vocabSize();
}
