package org.bertedge.core.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bertedge.core.json.Json;
import org.bertedge.core.json.JsonException;

/**
 * Reads a Hugging Face {@code tokenizer.json} into a {@link PipelineTokenizer}. Supported:
 * <ul>
 *   <li>model {@code BPE} (vocab + merges as {@code "a b"} strings or {@code ["a", "b"]} pairs;
 *       unk token, continuing-subword prefix, end-of-word suffix, fuse_unk, byte_fallback,
 *       ignore_merges) and {@code Unigram} (vocab {@code [[piece, score], ...]}, unk_id,
 *       byte_fallback);</li>
 *   <li>normalizers {@code NFC NFD NFKC NFKD Lowercase Strip StripAccents Replace Prepend
 *       Precompiled Sequence};</li>
 *   <li>pre-tokenizers {@code ByteLevel Metaspace WhitespaceSplit Sequence};</li>
 *   <li>post-processors {@code RobertaProcessing BertProcessing TemplateProcessing}, and
 *       {@code ByteLevel} (offsets only) alone or in a {@code Sequence}.</li>
 * </ul>
 * Anything else is refused with an {@link IllegalArgumentException} naming the part, e.g.
 * {@code tokenizer.json: pre_tokenizer.type 'Split' is not supported (supported: ...)}: a
 * tokenizer that silently differs from the host's would give wrong ids.
 */
public final class TokenizerJson {
    public static final String FILE = "tokenizer.json";

    /**
     * How the host turned the Unigram scores of the file into doubles, which decides exact ties
     * in the Viterbi search. {@link #EXACT}: correctly rounded, as Python's json module reads
     * them; transformers' model classes ({@code XLMRobertaTokenizer}, {@code AlbertTokenizer},
     * T5, Camembert, ...) rebuild their Unigram from those, so this is what
     * {@code AutoTokenizer} gives. {@link #SERDE_JSON}: as the Rust {@code tokenizers} library
     * reads the file itself ({@code Tokenizer.from_file},
     * {@code PreTrainedTokenizerFast(tokenizer_file=...)}, {@code TokenizersBackend}), a
     * conversion that can land one ulp off (see {@link SerdeFloat}).
     */
    public enum ScoreParsing {
        EXACT, SERDE_JSON;

        /** "exact" / "serde_json" as manifest.json spells them. */
        public static ScoreParsing of(String name) {
            switch (name) {
                case "exact": return EXACT;
                case "serde_json": return SERDE_JSON;
                default: throw new IllegalArgumentException("unigram_scores must be \"exact\" or \"serde_json\", got "
                        + Json.quote(name));
            }
        }
    }

    private TokenizerJson() {}

    /** {@link #read(InputStream, Integer, ScoreParsing)} with exact scores. */
    public static PipelineTokenizer read(InputStream in, Integer padIdOverride) throws IOException {
        return read(in, padIdOverride, ScoreParsing.EXACT);
    }

    /** Read a tokenizer.json stream (UTF-8). The stream is not closed. */
    public static PipelineTokenizer read(InputStream in, Integer padIdOverride, ScoreParsing scores) throws IOException {
        String text = Utf8.readStrict(in, FILE, 1 << 20);
        return parse(text, padIdOverride, scores);
    }

    /**
     * Parse tokenizer.json text. The pad id is {@code padIdOverride} when given, else
     * {@code padding.pad_id}, else the id of the first of {@code <pad>}, {@code [PAD]},
     * {@code <|pad|>} in the added tokens or vocabulary.
     */
    public static PipelineTokenizer parse(String text, Integer padIdOverride, ScoreParsing scores) {
        Object root;
        try {
            root = Json.parseKeepingFloatText(text);
        } catch (JsonException e) {
            throw new IllegalArgumentException(FILE + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map)) {
            throw bad("the top level is not an object");
        }
        Map<String, Object> o = obj(root, "");
        Normalizer normalizer = isNull(o.get("normalizer")) ? null : normalizer(obj(o.get("normalizer"), "normalizer"), "normalizer");
        PreTokenizer pre = isNull(o.get("pre_tokenizer")) ? null : preTokenizer(obj(o.get("pre_tokenizer"), "pre_tokenizer"), "pre_tokenizer");
        Map<String, Object> m = obj(require(o, "model", ""), "model");
        String modelType = modelType(m);
        SubwordModel model;
        String type;
        if (modelType.equals("BPE")) {
            model = bpe(m);
            type = TextTokenizer.TYPE_BPE;
        } else if (modelType.equals("Unigram")) {
            model = unigram(m, scores);
            type = TextTokenizer.TYPE_UNIGRAM;
        } else {
            throw bad("model.type '" + modelType + "' is not supported (supported: BPE, Unigram; a WordPiece "
                    + "model is read from vocab.txt, tokenizer type \"wordpiece\")");
        }
        List<AddedTokens.Token> tokens = new ArrayList<>();
        Object at = o.get("added_tokens");
        if (!isNull(at)) {
            List<Object> l = list(at, "added_tokens");
            for (int i = 0; i < l.size(); i++) {
                String w = "added_tokens[" + i + "]";
                Map<String, Object> t = obj(l.get(i), w);
                tokens.add(new AddedTokens.Token(integer(require(t, "id", w), w + ".id"), string(require(t, "content", w), w + ".content"),
                        bool(t, "single_word", false, w), bool(t, "lstrip", false, w), bool(t, "rstrip", false, w),
                        bool(t, "normalized", true, w), bool(t, "special", false, w)));
            }
        }
        AddedTokens added = new AddedTokens(tokens, normalizer);
        SpecialTokensTemplate template = isNull(o.get("post_processor")) ? SpecialTokensTemplate.none()
                : postProcessor(obj(o.get("post_processor"), "post_processor"), "post_processor", added, model);
        int pad = padId(o, padIdOverride, added, model);
        return new PipelineTokenizer(type, added, normalizer, pre, model, template, pad);
    }

    // ------------------------------------------------------------------ models

    private static String modelType(Map<String, Object> m) {
        if (m.containsKey("type")) {
            return string(m.get("type"), "model.type");
        }
        // files from old tokenizers versions carry no type: tell them apart by their fields
        if (m.containsKey("merges")) return "BPE";
        if (m.get("vocab") instanceof List) return "Unigram";
        if (m.containsKey("continuing_subword_prefix")) return "WordPiece";
        return "WordLevel";
    }

    private static BpeModel bpe(Map<String, Object> m) {
        Object dropout = m.get("dropout");
        if (!isNull(dropout) && Json.asDouble(dropout, "model.dropout") != 0.0) {
            throw bad("model.dropout is set: BPE dropout is a training option, a deployed tokenizer must not use it");
        }
        Map<String, Object> v = obj(require(m, "vocab", "model"), "model.vocab");
        Map<String, Integer> vocab = new LinkedHashMap<>(v.size() * 2);
        for (Map.Entry<String, Object> e : v.entrySet()) {
            vocab.put(e.getKey(), integer(e.getValue(), "model.vocab." + e.getKey()));
        }
        List<String[]> merges = new ArrayList<>();
        Object mo = m.get("merges");
        if (!isNull(mo)) {
            List<Object> l = list(mo, "model.merges");
            for (int i = 0; i < l.size(); i++) {
                Object x = l.get(i);
                String w = "model.merges[" + i + "]";
                if (x instanceof String) {
                    String[] parts = ((String) x).split(" ", -1);
                    if (parts.length != 2) {
                        throw bad(w + ": a merge string must be two tokens separated by one space, got " + Json.quote((String) x));
                    }
                    merges.add(parts);
                } else {
                    List<Object> pair = list(x, w);
                    if (pair.size() != 2) {
                        throw bad(w + ": a merge must have two tokens, got " + pair.size());
                    }
                    merges.add(new String[] {string(pair.get(0), w + "[0]"), string(pair.get(1), w + "[1]")});
                }
            }
        }
        try {
            return new BpeModel(vocab, merges, optString(m, "unk_token"), optString(m, "continuing_subword_prefix"),
                    optString(m, "end_of_word_suffix"), bool(m, "fuse_unk", false, "model"),
                    bool(m, "byte_fallback", false, "model"), bool(m, "ignore_merges", false, "model"));
        } catch (IllegalArgumentException e) {
            throw bad("model: " + e.getMessage());
        }
    }

    private static UnigramModel unigram(Map<String, Object> m, ScoreParsing parsing) {
        List<Object> v = list(require(m, "vocab", "model"), "model.vocab");
        List<String> pieces = new ArrayList<>(v.size());
        double[] scores = new double[v.size()];
        for (int i = 0; i < v.size(); i++) {
            String w = "model.vocab[" + i + "]";
            List<Object> e = list(v.get(i), w);
            if (e.size() != 2) {
                throw bad(w + ": expected [piece, score]");
            }
            pieces.add(string(e.get(0), w + "[0]"));
            scores[i] = score(e.get(1), w + "[1]", parsing);
        }
        Object unk = m.get("unk_id");
        int unkId = isNull(unk) ? -1 : integer(unk, "model.unk_id");
        try {
            return new UnigramModel(pieces, scores, unkId, bool(m, "byte_fallback", false, "model"));
        } catch (IllegalArgumentException e) {
            throw bad("model: " + e.getMessage());
        }
    }

    private static double score(Object v, String where, ScoreParsing parsing) {
        if (v instanceof Json.FloatText) {
            String t = ((Json.FloatText) v).text;
            return parsing == ScoreParsing.SERDE_JSON ? SerdeFloat.parse(t) : Double.parseDouble(t);
        }
        if (v instanceof Long) {
            return (double) (Long) v; // an integer literal: exact, as serde's u64/i64 → f64
        }
        if (v instanceof Number) {
            return ((Number) v).doubleValue();
        }
        throw bad(where + ": expected a number, got " + Json.typeName(v));
    }

    // ------------------------------------------------------------------ normalizers

    private static Normalizer normalizer(Map<String, Object> n, String where) {
        String t = string(require(n, "type", where), where + ".type");
        switch (t) {
            case "Sequence": {
                List<Object> l = list(require(n, "normalizers", where), where + ".normalizers");
                List<Normalizer> steps = new ArrayList<>();
                for (int i = 0; i < l.size(); i++) {
                    String w = where + ".normalizers[" + i + "]";
                    steps.add(normalizer(obj(l.get(i), w), w));
                }
                return new Normalizers.Sequence(steps);
            }
            case "NFC":
            case "NFD":
            case "NFKC":
            case "NFKD":
                return UnicodeNormalizer.of(t);
            case "Lowercase":
                return new Normalizers.Lowercase();
            case "StripAccents":
                return new Normalizers.StripAccents();
            case "Strip":
                return new Normalizers.Strip(bool(n, "strip_left", true, where), bool(n, "strip_right", true, where));
            case "Prepend":
                return new Normalizers.Prepend(string(require(n, "prepend", where), where + ".prepend"));
            case "Replace": {
                Map<String, Object> p = obj(require(n, "pattern", where), where + ".pattern");
                String content = string(require(n, "content", where), where + ".content");
                if (p.containsKey("String")) {
                    return Normalizers.Replace.literal(string(p.get("String"), where + ".pattern.String"), content);
                }
                if (p.containsKey("Regex")) {
                    String re = string(p.get("Regex"), where + ".pattern.Regex");
                    try {
                        return Normalizers.Replace.regex(re, content);
                    } catch (java.util.regex.PatternSyntaxException e) {
                        throw bad(where + ".pattern.Regex " + Json.quote(re) + " is not supported here: " + e.getDescription());
                    }
                }
                throw bad(where + ".pattern: expected {\"String\": ...} or {\"Regex\": ...}");
            }
            case "Precompiled": {
                Object cm = n.get("precompiled_charsmap");
                if (isNull(cm)) {
                    throw bad(where + ".precompiled_charsmap is missing");
                }
                try {
                    return new PrecompiledNormalizer(Base64.decode(string(cm, where + ".precompiled_charsmap")));
                } catch (IllegalArgumentException e) {
                    throw bad(where + ": " + e.getMessage());
                }
            }
            default:
                throw bad(where + ".type '" + t + "' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, "
                        + "Lowercase, Strip, StripAccents, Replace, Prepend, Precompiled)");
        }
    }

    // ------------------------------------------------------------------ pre-tokenizers

    private static PreTokenizer preTokenizer(Map<String, Object> p, String where) {
        String t = string(require(p, "type", where), where + ".type");
        switch (t) {
            case "Sequence": {
                List<Object> l = list(require(p, "pretokenizers", where), where + ".pretokenizers");
                List<PreTokenizer> steps = new ArrayList<>();
                for (int i = 0; i < l.size(); i++) {
                    String w = where + ".pretokenizers[" + i + "]";
                    steps.add(preTokenizer(obj(l.get(i), w), w));
                }
                return new PreTokenizers.Sequence(steps);
            }
            case "ByteLevel":
                return new ByteLevelPreTokenizer(bool(p, "add_prefix_space", true, where), bool(p, "use_regex", true, where));
            case "WhitespaceSplit":
                return new PreTokenizers.WhitespaceSplit();
            case "Metaspace": {
                String rep = string(require(p, "replacement", where), where + ".replacement");
                if (rep.codePointCount(0, rep.length()) != 1) {
                    throw bad(where + ".replacement must be one character, got " + Json.quote(rep));
                }
                int scheme;
                Object ps = p.get("prepend_scheme");
                String s = isNull(ps) ? "always" : string(ps, where + ".prepend_scheme");
                switch (s) {
                    case "always": scheme = PreTokenizers.Metaspace.ALWAYS; break;
                    case "first": scheme = PreTokenizers.Metaspace.FIRST; break;
                    case "never": scheme = PreTokenizers.Metaspace.NEVER; break;
                    default: throw bad(where + ".prepend_scheme '" + s + "' is not one of always, first, never");
                }
                Object aps = p.get("add_prefix_space"); // files before prepend_scheme existed
                if (!isNull(aps) && !bool(p, "add_prefix_space", true, where)) {
                    scheme = PreTokenizers.Metaspace.NEVER;
                }
                return new PreTokenizers.Metaspace(rep.codePointAt(0), scheme, bool(p, "split", true, where));
            }
            default:
                throw bad(where + ".type '" + t + "' is not supported (supported: Sequence, ByteLevel, Metaspace, "
                        + "WhitespaceSplit)");
        }
    }

    // ------------------------------------------------------------------ post-processors

    private static SpecialTokensTemplate postProcessor(Map<String, Object> p, String where, AddedTokens added,
                                                       SubwordModel model) {
        String t = string(require(p, "type", where), where + ".type");
        switch (t) {
            case "RobertaProcessing":
                return SpecialTokensTemplate.roberta(tokenId(p, "cls", where), tokenId(p, "sep", where));
            case "BertProcessing":
                return SpecialTokensTemplate.bert(tokenId(p, "cls", where), tokenId(p, "sep", where));
            case "ByteLevel":
                return SpecialTokensTemplate.none(); // trims offsets only
            case "TemplateProcessing":
                return template(p, where);
            case "Sequence": {
                List<Object> l = list(require(p, "processors", where), where + ".processors");
                SpecialTokensTemplate found = null;
                for (int i = 0; i < l.size(); i++) {
                    String w = where + ".processors[" + i + "]";
                    Map<String, Object> q = obj(l.get(i), w);
                    if ("ByteLevel".equals(q.get("type"))) {
                        continue;
                    }
                    if (found != null) {
                        throw bad(w + ": only one post-processor that adds special tokens is supported in a Sequence");
                    }
                    found = postProcessor(q, w, added, model);
                }
                return found == null ? SpecialTokensTemplate.none() : found;
            }
            default:
                throw bad(where + ".type '" + t + "' is not supported (supported: RobertaProcessing, BertProcessing, "
                        + "TemplateProcessing, ByteLevel, Sequence)");
        }
    }

    /** {@code "cls": ["<s>", 0]}. */
    private static int tokenId(Map<String, Object> p, String key, String where) {
        List<Object> l = list(require(p, key, where), where + "." + key);
        if (l.size() != 2) {
            throw bad(where + "." + key + ": expected [token, id]");
        }
        return integer(l.get(1), where + "." + key + "[1]");
    }

    private static SpecialTokensTemplate template(Map<String, Object> p, String where) {
        Map<String, int[]> specials = new LinkedHashMap<>();
        Object st = p.get("special_tokens");
        if (!isNull(st)) {
            Map<String, Object> m = obj(st, where + ".special_tokens");
            for (Map.Entry<String, Object> e : m.entrySet()) {
                String w = where + ".special_tokens." + e.getKey();
                Map<String, Object> s = obj(e.getValue(), w);
                List<Object> ids = list(require(s, "ids", w), w + ".ids");
                int[] a = new int[ids.size()];
                for (int i = 0; i < a.length; i++) {
                    a[i] = integer(ids.get(i), w + ".ids[" + i + "]");
                }
                specials.put(e.getKey(), a);
            }
        }
        return new SpecialTokensTemplate(parts(require(p, "single", where), where + ".single", specials),
                parts(require(p, "pair", where), where + ".pair", specials));
    }

    private static List<SpecialTokensTemplate.Part> parts(Object v, String where, Map<String, int[]> specials) {
        List<Object> l = list(v, where);
        List<SpecialTokensTemplate.Part> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            String w = where + "[" + i + "]";
            Map<String, Object> piece = obj(l.get(i), w);
            if (piece.containsKey("Sequence")) {
                Map<String, Object> s = obj(piece.get("Sequence"), w + ".Sequence");
                String id = string(require(s, "id", w + ".Sequence"), w + ".Sequence.id");
                if (!id.equals("A") && !id.equals("B")) {
                    throw bad(w + ".Sequence.id must be A or B, got " + Json.quote(id));
                }
                out.add(SpecialTokensTemplate.Part.sequence(id.charAt(0), integer(require(s, "type_id", w), w + ".type_id")));
            } else if (piece.containsKey("SpecialToken")) {
                Map<String, Object> s = obj(piece.get("SpecialToken"), w + ".SpecialToken");
                String id = string(require(s, "id", w + ".SpecialToken"), w + ".SpecialToken.id");
                int[] ids = specials.get(id);
                if (ids == null) {
                    throw bad(w + ": special token " + Json.quote(id) + " is not in special_tokens");
                }
                out.add(SpecialTokensTemplate.Part.special(ids, integer(require(s, "type_id", w), w + ".type_id")));
            } else {
                throw bad(w + ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
        if (out.isEmpty()) {
            throw bad(where + " is empty");
        }
        return out;
    }

    // ------------------------------------------------------------------ padding

    private static int padId(Map<String, Object> o, Integer override, AddedTokens added, SubwordModel model) {
        if (override != null) {
            return override;
        }
        Object padding = o.get("padding");
        if (!isNull(padding)) {
            Map<String, Object> p = obj(padding, "padding");
            if (p.containsKey("pad_id")) {
                return integer(p.get("pad_id"), "padding.pad_id");
            }
        }
        for (String name : new String[] {"<pad>", "[PAD]", "<|pad|>"}) {
            int id = added.id(name);
            if (id < 0) {
                id = model.tokenToId(name);
            }
            if (id >= 0) {
                return id;
            }
        }
        throw bad("no pad token: no padding.pad_id and none of <pad>, [PAD], <|pad|> in the vocabulary; give the "
                + "pad id in manifest.json (tokenizer.pad_id)");
    }

    // ------------------------------------------------------------------ JSON helpers

    private static IllegalArgumentException bad(String msg) {
        return new IllegalArgumentException(FILE + ": " + msg);
    }

    private static boolean isNull(Object v) {
        return v == null || v == Json.NULL;
    }

    private static Object require(Map<String, Object> o, String key, String where) {
        Object v = o.get(key);
        if (v == null) {
            throw bad((where.isEmpty() ? "" : where + ": ") + "missing field '" + key + "'");
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(Object v, String where) {
        if (!(v instanceof Map)) {
            throw bad(where + ": expected an object, got " + Json.typeName(v));
        }
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object v, String where) {
        if (!(v instanceof List)) {
            throw bad(where + ": expected an array, got " + Json.typeName(v));
        }
        return (List<Object>) v;
    }

    private static String string(Object v, String where) {
        if (!(v instanceof String)) {
            throw bad(where + ": expected a string, got " + Json.typeName(v));
        }
        return (String) v;
    }

    private static String optString(Map<String, Object> o, String key) {
        Object v = o.get(key);
        return isNull(v) ? null : string(v, "model." + key);
    }

    private static int integer(Object v, String where) {
        try {
            return Json.asInt(v, where);
        } catch (JsonException e) {
            throw bad(e.getMessage());
        }
    }

    private static boolean bool(Map<String, Object> o, String key, boolean dflt, String where) {
        Object v = o.get(key);
        if (isNull(v)) {
            return dflt;
        }
        if (!(v instanceof Boolean)) {
            throw bad(where + "." + key + ": expected a boolean, got " + Json.typeName(v));
        }
        return (Boolean) v;
    }
}
