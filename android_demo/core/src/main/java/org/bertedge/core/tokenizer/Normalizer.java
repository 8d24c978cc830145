package org.bertedge.core.tokenizer;

/** One step of a tokenizer.json {@code normalizer}, editing the text in place. */
interface Normalizer {
    void normalize(NormalizedText t);
}
