package org.bertedge.demo;

import android.content.res.AssetFileDescriptor;

import org.bertedge.core.Backend;
import org.bertedge.core.BundleException;
import org.bertedge.core.Manifest;
import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A .tflite model on LiteRT's Interpreter (CPU, XNNPACK), memory-mapped from the APK. Inputs
 * are bound by tensor name (the converter writes the contract names input_ids, attention_mask,
 * token_type_ids and logits), falling back to the {@code serving_default} signature. A quantized
 * logits tensor is dequantized with its scale and zero point. With a real-length bundle
 * (manifest "sequence") the inputs have a dynamic sequence dimension (shape signature [1, -1]):
 * each call resizes them to the length it is fed ({@link org.bertedge.core.Classifier#feed}).
 */
final class TfliteBackend implements Backend {
    private static final String SIGNATURE = "serving_default";

    private final String id;
    private final Interpreter interpreter;
    private final int numLabels;
    /** Per input position (0..n-1): which contract input feeds it (index into INPUT_NAMES). */
    private final int[] feedOrder;
    private final String signature; // null: bind by tensor index
    private final Tensor output;
    private final String outputName;

    private TfliteBackend(String id, Interpreter interpreter, int numLabels, int[] feedOrder, String signature,
                          Tensor output, String outputName) {
        this.id = id;
        this.interpreter = interpreter;
        this.numLabels = numLabels;
        this.feedOrder = feedOrder;
        this.signature = signature;
        this.output = output;
        this.outputName = outputName;
    }

    static TfliteBackend open(AssetFileDescriptor fd, String id, int threads, Manifest m) throws BundleException, IOException {
        MappedByteBuffer model;
        try (FileInputStream in = fd.createInputStream(); FileChannel ch = in.getChannel()) {
            model = ch.map(FileChannel.MapMode.READ_ONLY, fd.getStartOffset(), fd.getDeclaredLength());
        } finally {
            fd.close();
        }
        Interpreter.Options options = new Interpreter.Options().setNumThreads(Math.max(1, threads)).setUseXNNPACK(true);
        Interpreter it = new Interpreter(model, options);
        try {
            return bind(it, id, m);
        } catch (BundleException | RuntimeException e) {
            it.close();
            throw e;
        }
    }

    private static TfliteBackend bind(Interpreter it, String id, Manifest m) throws BundleException {
        int[] want = {1, m.maxSeqLength};
        Map<String, Integer> byName = new HashMap<>();
        for (int i = 0; i < it.getInputTensorCount(); i++) {
            byName.put(it.getInputTensor(i).name(), i);
        }
        if (byName.keySet().containsAll(Manifest.INPUT_NAMES) && it.getInputTensorCount() == 3) {
            int[] order = new int[3];
            for (int k = 0; k < 3; k++) {
                int pos = byName.get(Manifest.INPUT_NAMES.get(k));
                order[pos] = k;
                check(it.getInputTensor(pos), want, m.dynamicLength, id);
            }
            Tensor out = null;
            for (int i = 0; i < it.getOutputTensorCount(); i++) {
                if (Manifest.OUTPUT_NAME.equals(it.getOutputTensor(i).name())) {
                    out = it.getOutputTensor(i);
                }
            }
            if (out == null && it.getOutputTensorCount() == 1) {
                out = it.getOutputTensor(0);
            }
            if (out == null) {
                throw new BundleException(id + ": no output tensor named '" + Manifest.OUTPUT_NAME + "'");
            }
            checkOutput(out, m, id);
            return new TfliteBackend(id, it, m.numLabels(), order, null, out, null);
        }
        // fall back to the signature
        String[] keys = it.getSignatureKeys();
        if (keys == null || keys.length == 0) {
            throw new BundleException(id + ": model inputs are " + byName.keySet() + " and it has no signature; "
                    + "expected " + Manifest.INPUT_NAMES);
        }
        String key = Arrays.asList(keys).contains(SIGNATURE) ? SIGNATURE : keys[0];
        String[] ins = it.getSignatureInputs(key);
        if (!Arrays.asList(ins).containsAll(Manifest.INPUT_NAMES)) {
            throw new BundleException(id + ": signature '" + key + "' inputs are " + Arrays.toString(ins)
                    + "; expected " + Manifest.INPUT_NAMES);
        }
        for (String n : Manifest.INPUT_NAMES) {
            check(it.getInputTensorFromSignature(n, key), want, m.dynamicLength, id);
        }
        String[] outs = it.getSignatureOutputs(key);
        String outName = Arrays.asList(outs).contains(Manifest.OUTPUT_NAME) ? Manifest.OUTPUT_NAME : outs[0];
        Tensor out = it.getOutputTensorFromSignature(outName, key);
        checkOutput(out, m, id);
        return new TfliteBackend(id, it, m.numLabels(), null, key, out, outName);
    }

    private static void check(Tensor t, int[] want, boolean dynamic, String id) throws BundleException {
        if (dynamic && !Arrays.equals(t.shapeSignature(), new int[] {1, -1})) {
            throw new BundleException(id + ": input " + t.name() + " has shape signature "
                    + Arrays.toString(t.shapeSignature()) + "; manifest.json says the sequence is dynamic [1, -1]");
        }
        if (t.dataType() != DataType.INT32) {
            throw new BundleException(id + ": input " + t.name() + " is " + t.dataType() + ", the bundle contract says int32");
        }
        if (!Arrays.equals(t.shape(), want)) {
            throw new BundleException(id + ": input " + t.name() + " has shape " + Arrays.toString(t.shape())
                    + ", manifest.json says " + Arrays.toString(want));
        }
    }

    private static void checkOutput(Tensor out, Manifest m, String id) throws BundleException {
        int[] s = out.shape();
        if (s.length != 2 || s[0] != 1 || s[1] != m.numLabels()) {
            throw new BundleException(id + ": logits shape " + Arrays.toString(s) + ", expected [1, " + m.numLabels() + "]");
        }
        DataType d = out.dataType();
        if (d != DataType.FLOAT32 && d != DataType.INT8 && d != DataType.UINT8) {
            throw new BundleException(id + ": logits are " + d + ", expected float32 (or quantized int8/uint8)");
        }
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public float[] logits(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        int[][][] feeds = {{inputIds}, {attentionMask}, {tokenTypeIds}};
        Object out = outputBuffer();
        if (signature == null) {
            Object[] inputs = new Object[3];
            for (int pos = 0; pos < 3; pos++) {
                inputs[pos] = feeds[feedOrder[pos]];
                // [1, n]: a no-op when n is the current length, else a re-allocation of the
                // tensors (runSignature resizes the same way by itself)
                interpreter.resizeInput(pos, new int[] {1, inputIds.length});
            }
            Map<Integer, Object> outputs = new HashMap<>();
            outputs.put(indexOf(output), out);
            interpreter.runForMultipleInputsOutputs(inputs, outputs);
        } else {
            Map<String, Object> inputs = new HashMap<>();
            for (int k = 0; k < 3; k++) {
                inputs.put(Manifest.INPUT_NAMES.get(k), feeds[k]);
            }
            Map<String, Object> outputs = new HashMap<>();
            outputs.put(outputName, out);
            interpreter.runSignature(inputs, outputs, signature);
        }
        return toFloats(out);
    }

    private int indexOf(Tensor t) {
        for (int i = 0; i < interpreter.getOutputTensorCount(); i++) {
            if (interpreter.getOutputTensor(i).name().equals(t.name())) {
                return i;
            }
        }
        return 0;
    }

    private Object outputBuffer() {
        return output.dataType() == DataType.FLOAT32 ? new float[1][numLabels] : new byte[1][numLabels];
    }

    private float[] toFloats(Object out) {
        if (out instanceof float[][]) {
            return ((float[][]) out)[0];
        }
        byte[] q = ((byte[][]) out)[0];
        float scale = output.quantizationParams().getScale();
        int zero = output.quantizationParams().getZeroPoint();
        float[] f = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            int v = output.dataType() == DataType.UINT8 ? (q[i] & 0xFF) : q[i];
            f[i] = (v - zero) * scale;
        }
        return f;
    }

    @Override
    public void close() {
        interpreter.close();
    }
}
