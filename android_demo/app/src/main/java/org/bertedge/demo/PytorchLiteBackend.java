package org.bertedge.demo;

import org.bertedge.core.Backend;
import org.bertedge.core.BundleException;
import org.bertedge.core.Manifest;
import org.pytorch.IValue;
import org.pytorch.LiteModuleLoader;
import org.pytorch.Module;
import org.pytorch.PyTorchAndroid;
import org.pytorch.Tensor;

import java.io.File;

/**
 * A TorchScript lite-interpreter model ({@code model_int8.ptl}, bytecode v8) on
 * pytorch_android_lite 2.1.0. forward(input_ids, attention_mask, token_type_ids) takes int32
 * {@code [1, n]} tensors, n up to max_seq_length (the exported wrapper casts to int64 inside and
 * cuts trailing padding itself), and returns logits {@code [1, num_labels]}.
 */
final class PytorchLiteBackend implements Backend {
    private final String id;
    private final Module module;
    private final int numLabels;

    private PytorchLiteBackend(String id, Module module, int numLabels) {
        this.id = id;
        this.module = module;
        this.numLabels = numLabels;
    }

    static PytorchLiteBackend open(File model, String id, int threads, Manifest m) throws BundleException {
        // process-wide setting of the lite runtime's thread pool
        PyTorchAndroid.setNumThreads(Math.max(1, threads));
        Module module = LiteModuleLoader.load(model.getAbsolutePath());
        return new PytorchLiteBackend(id, module, m.numLabels());
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public float[] logits(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        long[] shape = {1, inputIds.length}; // real length (Classifier.feed) or max_seq_length
        IValue out = module.forward(
                IValue.from(Tensor.fromBlob(inputIds, shape)),
                IValue.from(Tensor.fromBlob(attentionMask, shape)),
                IValue.from(Tensor.fromBlob(tokenTypeIds, shape)));
        Tensor t = out.isTuple() ? out.toTuple()[0].toTensor() : out.toTensor();
        return Backend.requireOnePerLabel(id, t.getDataAsFloatArray(), numLabels);
    }

    @Override
    public void close() {
        module.destroy();
    }
}
