package org.bertedge.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class SoftmaxTest {
    @Test
    public void probabilitiesSumToOne() {
        double[] p = Softmax.probabilities(new float[] {1f, 2f, 3f});
        assertArrayEquals(new double[] {0.09003057317038046, 0.24472847105479764, 0.6652409557748219}, p, 1e-12);
    }

    @Test
    public void stableForLargeLogits() {
        double[] p = Softmax.probabilities(new float[] {1000f, 1000f});
        assertArrayEquals(new double[] {0.5, 0.5}, p, 0);
        p = Softmax.probabilities(new float[] {-1000f, 0f});
        assertEquals(1.0, p[1], 0);
    }

    @Test
    public void argmaxTakesTheFirstMaximum() {
        assertEquals(1, Softmax.argmax(new float[] {0f, 2f, 2f}));
        assertEquals(0, Softmax.argmax(new float[] {5f}));
        assertEquals(-1, Softmax.argmax(new float[0]));
        assertEquals(1, Softmax.argmax(new float[] {3f, Float.NaN, 4f}));
    }
}
