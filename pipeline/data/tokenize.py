"""Tokenization with the teacher's HF fast tokenizer: dynamic padding for training batches,
fixed `max_seq_length` for export and on-device parity."""
from __future__ import annotations

from converters.common import INPUT_NAMES, encode_fixed  # noqa: F401  (the graphs' input contract)


class TokenizedDataset:
    """Token ids per example, truncated but unpadded; batches are padded by `collate`."""

    def __init__(self, tokenizer, texts, pairs=None, labels=None, max_length: int = 128):
        enc = tokenizer(list(texts), list(pairs) if pairs else None, truncation=True,
                        max_length=max_length, return_token_type_ids=True,
                        return_attention_mask=True)
        self.features = [
            {k: enc[k][i] for k in INPUT_NAMES} for i in range(len(texts))
        ]
        if labels is not None:
            for f, y in zip(self.features, labels):
                f["labels"] = int(y)
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return self.features[i]

    def collate(self, items: list[dict]) -> dict:
        """Pad a batch to its longest member (dynamic padding)."""
        import torch

        longest = max(len(it["input_ids"]) for it in items)
        pad_id = self.tokenizer.pad_token_id or 0
        batch = {}
        for key, fill in (("input_ids", pad_id), ("attention_mask", 0), ("token_type_ids", 0)):
            batch[key] = torch.tensor([it[key] + [fill] * (longest - len(it[key])) for it in items],
                                      dtype=torch.long)
        if "labels" in items[0]:
            batch["labels"] = torch.tensor([it["labels"] for it in items], dtype=torch.long)
        return batch


def make_loader(dataset: TokenizedDataset, batch_size: int, shuffle: bool, seed: int = 0):
    import torch
    from torch.utils.data import DataLoader

    gen = torch.Generator()
    gen.manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen,
                      collate_fn=dataset.collate)
