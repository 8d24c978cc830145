package org.bertedge.core.tokenizer;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/**
 * {@link SerdeFloat} against what the Rust tokenizers library makes of each literal (vectors:
 * a Unigram vocabulary with these scores read by {@code Tokenizer.from_str}, written back).
 */
public class SerdeFloatTest {
    private static final String[][] CASES = {
            {"0", "0x0"},  // 0.0
            {"-0", "0x8000000000000000"},  // -0.0
            {"0.0", "0x0"},  // 0.0
            {"-0.0", "0x8000000000000000"},  // -0.0
            {"1", "0x3ff0000000000000"},  // 1.0
            {"-8.735323523512847", "0xc021787c532aef30"},  // -8.735323523512847
            {"-10.735323523512847", "0xc025787c532aef31"},  // -10.735323523512848  (exact: -10.735323523512847)
            {"-15.275492379532281", "0xc02e8d0d5650c6d7"},  // -15.27549237953228  (exact: -15.275492379532281)
            {"-9.908701741838819", "0xc023d1415ace082d"},  // -9.90870174183882  (exact: -9.908701741838819)
            {"-1.8771917354846979", "0xbffe08fa3383a6f5"},  // -1.877191735484698  (exact: -1.8771917354846979)
            {"-4.8288469314575195", "0xc01350bd40000000"},  // -4.8288469314575195
            {"1e5", "0x40f86a0000000000"},  // 100000.0
            {"1E5", "0x40f86a0000000000"},  // 100000.0
            {"1.5e-3", "0x3f589374bc6a7efa"},  // 0.0015
            {"-2.5E+2", "0xc06f400000000000"},  // -250.0
            {"123456789012345678901234", "0x44ba249b1f10a06c"},  // 1.2345678901234567e+23  (exact: 1.2345678901234569e+23)
            {"0.1234567890123456789012345", "0x3fbf9add3746f65f"},  // 0.12345678901234568
            {"18446744073709551615", "0x43f0000000000000"},  // 1.8446744073709552e+19
            {"18446744073709551616.5", "0x43f0000000000000"},  // 1.8446744073709552e+19
            {"-1.7976931348623157e308", "0xffefffffffffffff"},  // -1.7976931348623157e+308
            {"5e-324", "0x1"},  // 5e-324
            {"1e-400", "0x0"},  // 0.0
            {"9007199254740993", "0x4340000000000000"},  // 9007199254740992.0
            {"0.30000000000000004", "0x3fd3333333333334"},  // 0.30000000000000004
            {"-3.6199138164520264", "0xc00cf59560000000"},  // -3.6199138164520264
            {"12345678901234567890.123", "0x43e56a95319d63e1"},  // 1.2345678901234567e+19
            {"1e22", "0x4480f0cf064dd592"},  // 1e+22
            {"1e23", "0x44b52d02c7e14af6"},  // 1e+23
            {"4.9406564584124654e-324", "0x1"},  // 5e-324
            {"2.2250738585072014e-308", "0x10000000000000"},  // 2.2250738585072014e-308
    };

    @Test
    public void matchesSerdeJsonBitForBit() {
        for (String[] c : CASES) {
            long want = Long.parseUnsignedLong(c[1].substring(2), 16);
            assertEquals(c[0], Long.toHexString(want), Long.toHexString(Double.doubleToRawLongBits(SerdeFloat.parse(c[0]))));
        }
    }

    @Test
    public void differsFromCorrectRoundingWhereSerdeDoes() {
        // 16+ digit significands above 2^53 are rounded twice by serde_json
        assertEquals(-10.735323523512847, Double.parseDouble("-10.735323523512847"), 0);
        assertEquals(Math.nextDown(-10.735323523512847), SerdeFloat.parse("-10.735323523512847"), 0);
    }

    @Test(expected = NumberFormatException.class)
    public void outOfRangeIsAnError() {
        SerdeFloat.parse("1e400");
    }
}
