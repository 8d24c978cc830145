package org.bertedge.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bertedge.core.json.Json;
import org.bertedge.core.json.JsonException;

/**
 * One line of {@code golden.jsonl}: a text (and optional {@code text_pair}), the host
 * tokenizer's padded ids, and the logits each backend's runtime computed on the host.
 */
public final class GoldenCase {
    public final int line;
    public final String text;
    /** Second segment, or null. */
    public final String textPair;
    public final int[] inputIds;
    public final int[] attentionMask;
    public final int[] tokenTypeIds;
    /** backend id → host logits. */
    public final Map<String, float[]> logits;

    public GoldenCase(int line, String text, String textPair, int[] inputIds, int[] attentionMask,
                      int[] tokenTypeIds, Map<String, float[]> logits) {
        this.line = line;
        this.text = text;
        this.textPair = textPair;
        this.inputIds = inputIds;
        this.attentionMask = attentionMask;
        this.tokenTypeIds = tokenTypeIds;
        this.logits = Collections.unmodifiableMap(logits);
    }

    /** Parse one line; {@code fileName} and {@code lineNo} go into error messages. */
    public static GoldenCase parseLine(String jsonLine, String fileName, int lineNo) throws BundleException {
        String where = fileName + ":" + lineNo;
        try {
            Object root;
            try {
                root = Json.parse(jsonLine);
            } catch (JsonException e) {
                throw new BundleException(where + ": not valid JSON: " + e.getMessage(), e);
            }
            Json.Obj o = Json.Obj.of(root, where, "");
            String text = o.string("text");
            String pair = o.has("text_pair") ? o.string("text_pair") : null;
            int[] ids = o.intArray("input_ids");
            int[] mask = o.intArray("attention_mask");
            int[] types = o.intArray("token_type_ids");
            if (mask.length != ids.length || types.length != ids.length) {
                throw new BundleException(where + ": input_ids, attention_mask and token_type_ids differ in length ("
                        + ids.length + ", " + mask.length + ", " + types.length + ")");
            }
            Map<String, float[]> logits = new LinkedHashMap<>();
            if (o.has("logits")) {
                Json.Obj l = o.obj("logits");
                for (String backend : l.map().keySet()) {
                    logits.put(backend, l.floatArray(backend));
                }
            }
            return new GoldenCase(lineNo, text, pair, ids, mask, types, logits);
        } catch (JsonException e) {
            throw new BundleException(e.getMessage(), e);
        }
    }

    /** Parse a whole golden.jsonl; blank lines are skipped. */
    public static List<GoldenCase> parseJsonl(String content, String fileName) throws BundleException {
        List<GoldenCase> out = new ArrayList<>();
        String[] lines = content.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String ln = lines[i];
            if (ln.endsWith("\r")) {
                ln = ln.substring(0, ln.length() - 1);
            }
            if (ln.trim().isEmpty()) {
                continue;
            }
            out.add(parseLine(ln, fileName, i + 1));
        }
        return out;
    }

    /** Parse golden.jsonl and check it against the manifest (count, lengths, labels, backends). */
    public static List<GoldenCase> parseForManifest(String content, Manifest m) throws BundleException {
        List<GoldenCase> cases = parseJsonl(content, m.goldenFile);
        if (cases.size() != m.goldenCount) {
            throw new BundleException(m.goldenFile + ": has " + cases.size() + " cases, manifest.json says "
                    + m.goldenCount);
        }
        for (GoldenCase c : cases) {
            String where = m.goldenFile + ":" + c.line;
            if (c.inputIds.length != m.maxSeqLength) {
                throw new BundleException(where + ": input_ids has " + c.inputIds.length
                        + " ids, expected max_seq_length " + m.maxSeqLength);
            }
            for (Map.Entry<String, float[]> e : c.logits.entrySet()) {
                if (e.getValue().length != m.numLabels()) {
                    throw new BundleException(where + ": logits." + e.getKey() + " has " + e.getValue().length
                            + " values, expected " + m.numLabels() + " (one per label)");
                }
            }
        }
        return cases;
    }

    /** Host logits of {@code backend}, or null. */
    public float[] logitsFor(String backend) {
        return logits.get(backend);
    }
}
