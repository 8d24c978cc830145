package org.bertedge.demo;

import org.bertedge.core.Backend;
import org.bertedge.core.BundleException;
import org.bertedge.core.Manifest;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

import java.io.File;

/**
 * An ExecuTorch program ({@code model_int8.pte} / {@code model_fp32.pte}, XNNPACK delegate) on
 * executorch-android. forward(input_ids, attention_mask, token_type_ids) takes int32
 * {@code [1, n]} tensors for any n up to max_seq_length: the app feeds what
 * {@link org.bertedge.core.Classifier#feed} cut (real length), as the host runner that computed
 * the golden logits does.
 */
final class ExecuTorchBackend implements Backend {
    private final String id;
    private final Module module;
    private final int numLabels;

    private ExecuTorchBackend(String id, Module module, int numLabels) {
        this.id = id;
        this.module = module;
        this.numLabels = numLabels;
    }

    static ExecuTorchBackend open(File model, String id, int threads, Manifest m) throws BundleException {
        Module module = Module.load(model.getAbsolutePath(), Module.LOAD_MODE_MMAP, Math.max(1, threads));
        return new ExecuTorchBackend(id, module, m.numLabels());
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public float[] logits(int[] inputIds, int[] attentionMask, int[] tokenTypeIds) {
        long[] shape = new long[] {1, inputIds.length};
        EValue[] out = module.forward(
                EValue.from(Tensor.fromBlob(inputIds, shape)),
                EValue.from(Tensor.fromBlob(attentionMask, shape)),
                EValue.from(Tensor.fromBlob(tokenTypeIds, shape)));
        return Backend.requireOnePerLabel(id, out[0].toTensor().getDataAsFloatArray(), numLabels);
    }

    @Override
    public void close() {
        module.destroy();
    }
}
