package org.bertedge.core.json;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON parser (RFC 8259) with no dependencies, so the same code runs on the JVM
 * test harness and on Android. Values map to: object → {@code Map<String,Object>} (insertion
 * order kept), array → {@code List<Object>}, string → {@code String}, number → {@code Long} when
 * written without fraction or exponent and in range, else {@code Double}, true/false →
 * {@code Boolean}, null → {@link #NULL}.
 */
public final class Json {
    /** The JSON {@code null} value (distinct from a missing key, which reads as Java null). */
    public static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /**
     * A non-integral number kept as its literal text: a reader that must convert it exactly as
     * another JSON library does (tokenizer.json scores, see tokenizer.SerdeFloat) needs the digits,
     * not Java's correctly rounded double. {@link #doubleValue()} is Java's parse.
     */
    public static final class FloatText extends Number {
        private static final long serialVersionUID = 1L;
        public final String text;

        FloatText(String text) {
            this.text = text;
        }

        @Override
        public double doubleValue() {
            return Double.parseDouble(text);
        }

        @Override
        public float floatValue() {
            return (float) doubleValue();
        }

        @Override
        public long longValue() {
            return (long) doubleValue();
        }

        @Override
        public int intValue() {
            return (int) doubleValue();
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private final String s;
    private final boolean floatText;
    private int pos;

    private Json(String s, boolean floatText) {
        this.s = s;
        this.floatText = floatText;
    }

    /** Parse one JSON document; trailing non-whitespace is an error. */
    public static Object parse(String text) {
        return parse(text, false);
    }

    /** Like {@link #parse(String)}, but non-integral numbers come back as {@link FloatText}. */
    public static Object parseKeepingFloatText(String text) {
        return parse(text, true);
    }

    private static Object parse(String text, boolean floatText) {
        if (text == null) {
            throw new JsonException("no JSON text (null)");
        }
        Json p = new Json(text, floatText);
        p.skipWs();
        if (p.pos < text.length() && text.charAt(p.pos) == '\uFEFF') {
            p.pos++; // a UTF-8 BOM decoded as U+FEFF
            p.skipWs();
        }
        Object v = p.value(0);
        p.skipWs();
        if (p.pos != text.length()) {
            throw p.error("unexpected '" + text.charAt(p.pos) + "' after the JSON value");
        }
        return v;
    }

    /** Parse a document whose top level must be an object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object v = parse(text);
        if (!(v instanceof Map)) {
            throw new JsonException("expected a JSON object at the top level, got " + typeName(v));
        }
        return (Map<String, Object>) v;
    }

    public static String typeName(Object v) {
        if (v == null) return "nothing";
        if (v == NULL) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Boolean) return "a boolean";
        if (v instanceof Number) return "a number";
        return v.getClass().getSimpleName();
    }

    private static final int MAX_DEPTH = 512;

    private Object value(int depth) {
        if (depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
        if (pos >= s.length()) {
            throw error("unexpected end of input");
        }
        char c = s.charAt(pos);
        switch (c) {
            case '{':
                return object(depth);
            case '[':
                return array(depth);
            case '"':
                return string();
            case 't':
                literal("true");
                return Boolean.TRUE;
            case 'f':
                literal("false");
                return Boolean.FALSE;
            case 'n':
                literal("null");
                return NULL;
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("unexpected '" + c + "'");
        }
    }

    private Map<String, Object> object(int depth) {
        Map<String, Object> m = new LinkedHashMap<>();
        pos++; // {
        skipWs();
        if (peek() == '}') {
            pos++;
            return m;
        }
        while (true) {
            skipWs();
            if (peek() != '"') {
                throw error("expected a string key");
            }
            String key = string();
            skipWs();
            expect(':');
            skipWs();
            Object v = value(depth + 1);
            if (m.containsKey(key)) {
                throw error("duplicate key \"" + key + "\"");
            }
            m.put(key, v);
            skipWs();
            char c = next("',' or '}'");
            if (c == '}') {
                return m;
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or '}'");
            }
        }
    }

    private List<Object> array(int depth) {
        List<Object> a = new ArrayList<>();
        pos++; // [
        skipWs();
        if (peek() == ']') {
            pos++;
            return a;
        }
        while (true) {
            skipWs();
            a.add(value(depth + 1));
            skipWs();
            char c = next("',' or ']'");
            if (c == ']') {
                return a;
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or ']'");
            }
        }
    }

    private String string() {
        pos++; // opening quote
        StringBuilder sb = null;
        int start = pos;
        while (true) {
            if (pos >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(pos);
            if (c == '"') {
                String out = sb == null ? s.substring(start, pos) : sb.append(s, start, pos).toString();
                pos++;
                return out;
            }
            if (c < 0x20) {
                throw error("control character U+" + String.format("%04X", (int) c) + " in a string");
            }
            if (c != '\\') {
                pos++;
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder();
            }
            sb.append(s, start, pos);
            pos++;
            char e = next("an escape");
            switch (e) {
                case '"': sb.append('"'); break;
                case '\\': sb.append('\\'); break;
                case '/': sb.append('/'); break;
                case 'b': sb.append('\b'); break;
                case 'f': sb.append('\f'); break;
                case 'n': sb.append('\n'); break;
                case 'r': sb.append('\r'); break;
                case 't': sb.append('\t'); break;
                case 'u': {
                    if (pos + 4 > s.length()) {
                        throw error("truncated \\u escape");
                    }
                    int cp = 0;
                    for (int i = 0; i < 4; i++) {
                        int d = Character.digit(s.charAt(pos + i), 16);
                        if (d < 0) {
                            throw error("bad \\u escape");
                        }
                        cp = cp * 16 + d;
                    }
                    pos += 4;
                    // surrogate pairs arrive as two escapes; UTF-16 code units concatenate as is
                    sb.append((char) cp);
                    break;
                }
                default:
                    pos--;
                    throw error("bad escape '\\" + e + "'");
            }
            start = pos;
        }
    }

    private Number number() {
        int start = pos;
        boolean integral = true;
        if (peek() == '-') pos++;
        if (peek() == '0') {
            pos++;
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9') pos++;
        } else {
            throw error("bad number");
        }
        if (peek() == '.') {
            integral = false;
            pos++;
            if (!(peek() >= '0' && peek() <= '9')) throw error("bad number: digits expected after '.'");
            while (peek() >= '0' && peek() <= '9') pos++;
        }
        if (peek() == 'e' || peek() == 'E') {
            integral = false;
            pos++;
            if (peek() == '+' || peek() == '-') pos++;
            if (!(peek() >= '0' && peek() <= '9')) throw error("bad number: digits expected in exponent");
            while (peek() >= '0' && peek() <= '9') pos++;
        }
        String t = s.substring(start, pos);
        if (integral && t.length() <= 18) {
            return Long.parseLong(t);
        }
        return floatText ? new FloatText(t) : Double.parseDouble(t);
    }

    private void literal(String word) {
        if (!s.startsWith(word, pos)) {
            throw error("unexpected '" + s.charAt(pos) + "'");
        }
        pos += word.length();
    }

    private void skipWs() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                pos++;
            } else {
                return;
            }
        }
    }

    private char peek() {
        return pos < s.length() ? s.charAt(pos) : '\0';
    }

    private char next(String what) {
        if (pos >= s.length()) {
            throw error("unexpected end of input, expected " + what);
        }
        return s.charAt(pos++);
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private JsonException error(String msg) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < pos && i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new JsonException("line " + line + ", column " + col + ": " + msg);
    }

    // ------------------------------------------------------------------ typed accessors

    /**
     * Typed reads from a parsed object. Errors read {@code "<file>: <key.path>: <reason>"}, e.g.
     * {@code manifest.json: vocab.sha256: expected a string, got a number}.
     */
    public static final class Obj {
        private final Map<String, Object> m;
        private final String file;
        private final String path;

        public Obj(Map<String, Object> m, String file, String path) {
            this.m = m;
            this.file = file;
            this.path = path;
        }

        @SuppressWarnings("unchecked")
        public static Obj of(Object v, String file, String path) {
            if (!(v instanceof Map)) {
                throw new JsonException(file + ": " + (path.isEmpty() ? "" : path + ": ")
                        + "expected an object, got " + typeName(v));
            }
            return new Obj((Map<String, Object>) v, file, path);
        }

        /** Where this object is, for messages: "file" or "file: path". */
        public String where() {
            return path.isEmpty() ? file : file + ": " + path;
        }

        public boolean has(String key) {
            Object v = m.get(key);
            return v != null && v != NULL;
        }

        public Map<String, Object> map() {
            return Collections.unmodifiableMap(m);
        }

        private String path(String key) {
            return file + ": " + (path.isEmpty() ? key : path + "." + key);
        }

        public Object require(String key) {
            Object v = m.get(key);
            if (v == null) {
                throw new JsonException(where() + ": missing field '" + key + "'");
            }
            return v;
        }

        public String string(String key) {
            Object v = require(key);
            if (!(v instanceof String)) {
                throw new JsonException(path(key) + ": expected a string, got " + typeName(v));
            }
            return (String) v;
        }

        public String optString(String key, String dflt) {
            return has(key) ? string(key) : dflt;
        }

        public long integer(String key) {
            return asLong(require(key), path(key));
        }

        public int int32(String key) {
            return asInt(require(key), path(key));
        }

        public double number(String key) {
            return asDouble(require(key), path(key));
        }

        public boolean bool(String key) {
            Object v = require(key);
            if (!(v instanceof Boolean)) {
                throw new JsonException(path(key) + ": expected true or false, got " + typeName(v));
            }
            return (Boolean) v;
        }

        public Boolean optBool(String key) {
            return has(key) ? bool(key) : null;
        }

        public Obj obj(String key) {
            return Obj.of(require(key), file, path.isEmpty() ? key : path + "." + key);
        }

        @SuppressWarnings("unchecked")
        public List<Object> list(String key) {
            Object v = require(key);
            if (!(v instanceof List)) {
                throw new JsonException(path(key) + ": expected an array, got " + typeName(v));
            }
            return (List<Object>) v;
        }

        public int[] intArray(String key) {
            List<Object> a = list(key);
            int[] out = new int[a.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = asInt(a.get(i), path(key) + "[" + i + "]");
            }
            return out;
        }

        public float[] floatArray(String key) {
            return asFloatArray(require(key), path(key));
        }

        public List<String> stringList(String key) {
            List<Object> a = list(key);
            List<String> out = new ArrayList<>(a.size());
            for (int i = 0; i < a.size(); i++) {
                Object v = a.get(i);
                if (!(v instanceof String)) {
                    throw new JsonException(path(key) + "[" + i + "]: expected a string, got " + typeName(v));
                }
                out.add((String) v);
            }
            return out;
        }
    }

    public static long asLong(Object v, String where) {
        if (v instanceof Long) {
            return (Long) v;
        }
        if (v instanceof Double || v instanceof FloatText) {
            double d = ((Number) v).doubleValue();
            if (d == Math.rint(d) && Math.abs(d) < 9.0e15) {
                return (long) d;
            }
        }
        throw new JsonException(where + ": expected an integer, got " + describe(v));
    }

    public static int asInt(Object v, String where) {
        long x = asLong(v, where);
        if (x < Integer.MIN_VALUE || x > Integer.MAX_VALUE) {
            throw new JsonException(where + ": " + x + " does not fit in 32 bits");
        }
        return (int) x;
    }

    public static double asDouble(Object v, String where) {
        if (v instanceof Number) {
            return ((Number) v).doubleValue();
        }
        throw new JsonException(where + ": expected a number, got " + typeName(v));
    }

    public static float[] asFloatArray(Object v, String where) {
        if (!(v instanceof List)) {
            throw new JsonException(where + ": expected an array of numbers, got " + typeName(v));
        }
        List<?> a = (List<?>) v;
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) asDouble(a.get(i), where + "[" + i + "]");
        }
        return out;
    }

    private static String describe(Object v) {
        return v instanceof Number ? v.toString() : typeName(v);
    }

    /** JSON string literal for {@code s} (used in messages and reports). */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || Character.isSurrogate(c)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        return sb.append('"').toString();
    }
}
