package org.bertedge.core.tokenizer;

import java.util.List;

/** One step of a tokenizer.json {@code pre_tokenizer}: splits a piece into smaller pieces. */
interface PreTokenizer {
    /** Appends the pieces of {@code piece} to {@code out}; empty pieces are dropped, as HF does. */
    void split(NormalizedText piece, List<NormalizedText> out);
}
