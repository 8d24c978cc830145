"""The BERT forward with the [CLS] row in its own tensors, for the full-int8 TFLite graph.

Full int8 gives each tensor one scale. In BERT-family students the [CLS] token carries the
residual stream's outliers: on the SST-2 student one channel of [CLS] reaches 105-154 at the
FFN-output LayerNorm of layers 0-1 while every other token stays under 20 there, so one scale
for all rows leaves the ordinary tokens two or three int8 steps (docs/int8-numerics.md). This
module computes the same function with every per-token tensor in two pieces: row 0 ([CLS],
which the classifier reads) and rows 1.. (the rest). Each piece goes through its own
FULLY_CONNECTED, ADD, LayerNorm and GELU ops, so the converter gives each its own int8 scale;
keys and values are concatenated for attention (both pieces attend over all positions).

Float results equal the HF model's (tests/test_cls_split.py); the graph is only used for the
full-int8 conversion. Slicing an already-quantized tensor would not help (a slice keeps its
input's scale): the split starts at the embedding LayerNorm and never joins again.
"""
from __future__ import annotations

SUPPORTED_MODEL_TYPES = ("bert",)


def supported(model) -> bool:
    """A BertForSequenceClassification-shaped model this module can run."""
    cfg = getattr(model, "config", None)
    return (getattr(cfg, "model_type", None) in SUPPORTED_MODEL_TYPES and hasattr(model, "bert")
            and hasattr(model, "classifier") and getattr(model.bert, "pooler", None) is not None
            and not getattr(cfg, "is_decoder", False)
            and getattr(cfg, "position_embedding_type", "absolute") == "absolute")


def wrap(model):
    """nn.Module with the HF call signature that `onnx_export.make_wrapper` uses
    (input_ids, attention_mask as an additive [1, 1, 1, L] bias, token_type_ids, position_ids)
    returning (logits,)."""
    import torch

    class ClsSplitBert(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner.eval()
            self.config = inner.config  # the export wrapper reads the family from it

        def forward(self, input_ids, attention_mask, token_type_ids, position_ids,
                    return_dict=False):
            bert = self.inner.bert
            emb = bert.embeddings
            x = (emb.word_embeddings(input_ids) + emb.token_type_embeddings(token_type_ids)
                 + emb.position_embeddings(position_ids))
            parts = [emb.LayerNorm(x[:, :1]), emb.LayerNorm(x[:, 1:])]
            for layer in bert.encoder.layer:
                parts = _layer(layer, parts, attention_mask)
            pooled = bert.pooler.activation(bert.pooler.dense(parts[0][:, 0]))
            return (self.inner.classifier(pooled),)

    return ClsSplitBert(model).eval()


def _layer(layer, parts, bias):
    """One BertLayer on [cls rows, other rows]."""
    import torch

    att = layer.attention.self
    heads, size = att.num_attention_heads, att.attention_head_size

    def split_heads(t):  # [1, n, H] -> [1, heads, n, size] (batch 1, as exported; -1: n is dynamic)
        return t.reshape(1, -1, heads, size).transpose(1, 2)

    keys = torch.cat([att.key(p) for p in parts], dim=1)
    values = torch.cat([att.value(p) for p in parts], dim=1)
    k, v = split_heads(keys), split_heads(values)
    out = []
    for p in parts:
        q = split_heads(att.query(p))
        scores = torch.matmul(q, k.transpose(2, 3)) * (size ** -0.5) + bias
        context = torch.matmul(torch.softmax(scores, dim=-1), v)
        context = context.transpose(1, 2).reshape(1, -1, heads * size)
        a = layer.attention.output
        h = a.LayerNorm(a.dense(context) + p)
        f = layer.output
        out.append(f.LayerNorm(f.dense(layer.intermediate(h)) + h))
    return out
