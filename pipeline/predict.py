"""Batched logits from a Hugging Face classifier, with dynamic padding and a progress bar."""
from __future__ import annotations

import numpy as np


def hf_logits(model, tokenizer, texts, pairs=None, batch_size: int = 64, max_length: int = 128,
              desc: str = "predict", progress: bool = True) -> np.ndarray:
    import torch
    from tqdm.auto import tqdm

    from pipeline.data.tokenize import TokenizedDataset, make_loader

    ds = TokenizedDataset(tokenizer, texts, pairs, None, max_length)
    loader = make_loader(ds, batch_size, shuffle=False)
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for batch in tqdm(loader, desc=desc, disable=not progress, leave=False, unit="batch"):
            batch = {k: v.to(device) for k, v in batch.items()}
            out.append(model(**batch).logits.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.num_labels), np.float32)
