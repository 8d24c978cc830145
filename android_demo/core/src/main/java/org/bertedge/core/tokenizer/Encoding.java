package org.bertedge.core.tokenizer;

/** Model inputs for one example: three int32 vectors of the fixed model length. */
public final class Encoding {
    public final int[] inputIds;
    public final int[] attentionMask;
    public final int[] tokenTypeIds;
    /** Tokens before padding, [CLS] and [SEP] included. */
    public final int length;
    /** Whether tokens were cut to fit the model length. */
    public final boolean truncated;

    public Encoding(int[] inputIds, int[] attentionMask, int[] tokenTypeIds, int length, boolean truncated) {
        if (inputIds.length != attentionMask.length || inputIds.length != tokenTypeIds.length) {
            throw new IllegalArgumentException("input vectors differ in length");
        }
        this.inputIds = inputIds;
        this.attentionMask = attentionMask;
        this.tokenTypeIds = tokenTypeIds;
        this.length = length;
        this.truncated = truncated;
    }

    public int maxLength() {
        return inputIds.length;
    }
}
