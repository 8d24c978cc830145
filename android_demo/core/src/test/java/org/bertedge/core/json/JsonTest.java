package org.bertedge.core.json;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.Test;

public class JsonTest {
    @Test
    public void parsesAllValueKinds() {
        Map<String, Object> m = Json.parseObject(
                "{\"s\":\"x\",\"i\":42,\"neg\":-7,\"f\":1.5,\"e\":-2.5e-3,\"t\":true,\"n\":null,\"a\":[1,[2],{}],\"o\":{\"k\":\"v\"}}");
        assertEquals("x", m.get("s"));
        assertEquals(42L, m.get("i"));
        assertEquals(-7L, m.get("neg"));
        assertEquals(1.5, (Double) m.get("f"), 0);
        assertEquals(-2.5e-3, (Double) m.get("e"), 0);
        assertEquals(Boolean.TRUE, m.get("t"));
        assertSame(Json.NULL, m.get("n"));
        assertEquals(3, ((List<?>) m.get("a")).size());
        assertEquals(Arrays.asList("s", "i", "neg", "f", "e", "t", "n", "a", "o"), Arrays.asList(m.keySet().toArray()));
    }

    @Test
    public void decodesEscapesAndSurrogatePairs() {
        Object v = Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000\"");
        assertEquals("a\"b\\c/d\b\f\n\r\té\uD83D\uDE00\u0000", v);
        assertEquals("😀", Json.parse("\"😀\""));
    }

    @Test
    public void numbersKeepPrecisionAndKind() {
        assertEquals(123456789012L, Json.parse("123456789012"));
        assertTrue(Json.parse("1e2") instanceof Double);
        assertTrue(Json.parse("12345678901234567890") instanceof Double);
        assertEquals(0.1f, (float) Json.asDouble(Json.parse("0.1"), "x"), 0f);
        assertEquals(-0.0, (Double) Json.parse("-0.0"), 0);
    }

    @Test
    public void rejectsMalformedInputWithPosition() {
        String[] bad = {"", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "1.", "-", "tru", "\"abc", "\"\\x\"",
                "{\"a\":1}x", "[1 2]", "{\"a\" 1}", "\"\\u12\"", "\"a\nb\"", "{\"a\":1,\"a\":2}", "NaN", "+1"};
        for (String s : bad) {
            try {
                Json.parse(s);
                fail("accepted " + s);
            } catch (JsonException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("line "));
            }
        }
    }

    @Test
    public void errorNamesLineAndColumn() {
        try {
            Json.parse("{\n  \"a\": 1,\n  \"b\": ]\n}");
            fail();
        } catch (JsonException e) {
            assertEquals("line 3, column 8: unexpected ']'", e.getMessage());
        }
    }

    @Test
    public void typedAccessorsNameTheKeyPath() {
        Json.Obj o = Json.Obj.of(Json.parse("{\"v\":{\"n\":\"x\",\"ids\":[1,2.0,3]}}"), "f.json", "");
        assertEquals(3, o.obj("v").intArray("ids").length);
        try {
            o.obj("v").integer("n");
            fail();
        } catch (JsonException e) {
            assertEquals("f.json: v.n: expected an integer, got a string", e.getMessage());
        }
        try {
            o.obj("v").string("missing");
            fail();
        } catch (JsonException e) {
            assertEquals("f.json: v: missing field 'missing'", e.getMessage());
        }
        try {
            Json.Obj.of(Json.parse("{\"ids\":[1,2.5]}"), "f.json", "").intArray("ids");
            fail();
        } catch (JsonException e) {
            assertEquals("f.json: ids[1]: expected an integer, got 2.5", e.getMessage());
        }
    }

    @Test
    public void deepNestingIsBounded() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 2000; i++) sb.append('[');
        try {
            Json.parse(sb.toString());
            fail();
        } catch (JsonException e) {
            assertTrue(e.getMessage().contains("nesting"));
        }
    }

    @Test
    public void quoteEscapesControls() {
        assertEquals("\"a\\n\\u0001\\\"\"", Json.quote("a\n\u0001\""));
    }
}
