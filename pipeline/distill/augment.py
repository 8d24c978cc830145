"""TinyBERT-style data augmentation for task distillation, batched.

For every training sentence, `factor` new sentences are made by replacing each word, with
probability `prob`, by one of its `candidates` nearest substitutes:

- with a masked-language-model head (a teacher that has one): the word is masked in its sentence
  and the top predictions are the substitutes (context-dependent, as in the TinyBERT paper);
  all masked copies of all sentences go through the model in batches, instead of the reference
  script's one forward pass per word;
- otherwise (and for words that are several word pieces, where TinyBERT used GloVe): the nearest
  whole-word tokens to the word in the teacher's input-embedding space, by cosine similarity,
  computed once per distinct word with one chunked matrix product.

Only alphabetic words are replaced. Augmented sentences carry the label IGNORE_LABEL: the teacher's
soft labels supervise them (a substitute can flip the sentiment: "good" -> "bad"), the gold-label
loss uses the original sentences only.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Optional

import numpy as np

from pipeline.distill.losses import IGNORE_LABEL


def has_mlm_head(model_dir: str | Path) -> bool:
    """Whether a model directory holds trained masked-LM head weights (checked by tensor name)."""
    model_dir = Path(model_dir)
    names: list[str] = []
    idx = model_dir / "model.safetensors.index.json"
    if idx.is_file():
        names = list(json.loads(idx.read_text(encoding="utf-8")).get("weight_map", {}))
    elif (model_dir / "model.safetensors").is_file():
        from safetensors import safe_open

        with safe_open(str(model_dir / "model.safetensors"), framework="pt") as f:
            names = list(f.keys())
    return any("predictions.transform" in n for n in names)


class Augmenter:
    def __init__(self, tokenizer, embeddings=None, mlm_model=None, candidates: int = 15,
                 prob: float = 0.4, factor: int = 4, seed: int = 0, batch_size: int = 64,
                 max_length: int = 128, progress: bool = False):
        if embeddings is None and mlm_model is None:
            raise ValueError("augmenter needs input embeddings or a masked-LM model")
        self.tok = tokenizer
        self.mlm = mlm_model
        self.k = candidates
        self.prob = prob
        self.factor = factor
        self.seed = seed
        self.batch_size = batch_size
        self.max_length = max_length
        self.progress = progress
        self.forward_calls = 0  # masked-LM forward passes (tests check that they are batched)
        vocab = tokenizer.get_vocab()
        self.id_to_token = {i: t for t, i in vocab.items()}
        special = set(tokenizer.all_special_ids)
        self.word_ids = np.array(sorted(i for t, i in vocab.items()
                                        if i not in special and t.isalpha() and len(t) > 1
                                        and not t.startswith("##")), dtype=np.int64)
        self._word_set = set(self.word_ids.tolist())
        if embeddings is None:
            embeddings = mlm_model.get_input_embeddings().weight
        import torch

        emb = embeddings.detach().float().cpu()
        self.emb = torch.nn.functional.normalize(emb, dim=-1)
        self.cand_emb = self.emb[torch.as_tensor(self.word_ids)]

    # --- words --------------------------------------------------------------------------------

    def words(self, text: str) -> list[str]:
        bt = self.tok.backend_tokenizer
        norm = bt.normalizer.normalize_str(text) if bt.normalizer is not None else text
        return [w for w, _ in bt.pre_tokenizer.pre_tokenize_str(norm)]

    @staticmethod
    def _eligible(word: str) -> bool:
        return word.isalpha()

    # --- candidates ---------------------------------------------------------------------------

    def embedding_neighbours(self, words: list[str]) -> dict[str, list[str]]:
        """word -> its `k` nearest whole-word tokens (cosine, teacher input embeddings)."""
        import torch

        uniq = sorted(set(words))
        if not uniq:
            return {}
        pieces = self.tok(uniq, add_special_tokens=False)["input_ids"]
        vecs = torch.stack([self.emb[torch.as_tensor(p)].mean(0) if p else torch.zeros(self.emb.shape[1])
                            for p in pieces])
        vecs = torch.nn.functional.normalize(vecs, dim=-1)
        out = {}
        for start in range(0, len(uniq), 1024):
            sims = vecs[start:start + 1024] @ self.cand_emb.T
            top = sims.topk(min(self.k + 1, sims.shape[1]), dim=-1).indices.numpy()
            for row, word in enumerate(uniq[start:start + 1024]):
                cands = [self.id_to_token[int(self.word_ids[j])] for j in top[row]]
                out[word] = [c for c in cands if c != word][: self.k]
        return out

    def mlm_candidates(self, sentences: list[list[str]]) -> dict[tuple[int, int], list[str]]:
        """(sentence, word position) -> top-k masked-LM substitutes, for every single-piece
        alphabetic word; all masked copies go through the model in batches."""
        import torch

        jobs = []  # (sentence index, word index, token position, input ids)
        enc = self.tok(sentences, is_split_into_words=True, truncation=True, max_length=self.max_length)
        for s, words in enumerate(sentences):
            ids = enc["input_ids"][s]
            wids = enc.word_ids(s)
            pos_of: dict[int, list[int]] = {}
            for p, w in enumerate(wids):
                if w is not None:
                    pos_of.setdefault(w, []).append(p)
            for w, word in enumerate(words):
                ps = pos_of.get(w, [])
                if len(ps) == 1 and self._eligible(word) and ids[ps[0]] in self._word_set:
                    jobs.append((s, w, ps[0], ids))
        out: dict[tuple[int, int], list[str]] = {}
        device = next(self.mlm.parameters()).device
        self.mlm.eval()
        mask_id = self.tok.mask_token_id
        allowed = torch.zeros(self.emb.shape[0], dtype=torch.bool)
        allowed[torch.as_tensor(self.word_ids)] = True
        from tqdm.auto import tqdm

        starts = range(0, len(jobs), self.batch_size)
        for start in tqdm(starts, desc="augment (masked LM)", disable=not self.progress, leave=False):
            chunk = jobs[start:start + self.batch_size]
            width = max(len(j[3]) for j in chunk)
            ids = torch.full((len(chunk), width), self.tok.pad_token_id or 0, dtype=torch.long)
            att = torch.zeros_like(ids)
            for r, (_, _, p, seq) in enumerate(chunk):
                ids[r, :len(seq)] = torch.as_tensor(seq)
                att[r, :len(seq)] = 1
                ids[r, p] = mask_id
            with torch.inference_mode():
                logits = self.mlm(input_ids=ids.to(device), attention_mask=att.to(device)).logits
            self.forward_calls += 1
            rows = torch.arange(len(chunk))
            at = logits[rows, torch.as_tensor([j[2] for j in chunk])].float().cpu()
            at[:, ~allowed[: at.shape[1]]] = float("-inf")
            top = at.topk(self.k + 1, dim=-1).indices.numpy()
            for r, (s, w, _, _) in enumerate(chunk):
                word = sentences[s][w]
                cands = [self.id_to_token[int(t)] for t in top[r]]
                out[(s, w)] = [c for c in cands if c != word][: self.k]
        return out

    # --- generation ---------------------------------------------------------------------------

    def augment(self, texts: list[str], pairs: Optional[list[str]], labels: list[int]):
        """(texts, pairs, labels): the originals, then `factor` augmented copies of each
        (the first segment is augmented for pair tasks), labelled IGNORE_LABEL."""
        sentences = [self.words(t) for t in texts]
        context: dict[tuple[int, int], list[str]] = {}
        if self.mlm is not None:
            context = self.mlm_candidates(sentences)
        fallback_words = [w for s, ws in enumerate(sentences) for i, w in enumerate(ws)
                          if self._eligible(w) and (s, i) not in context]
        neighbours = self.embedding_neighbours(fallback_words)
        rng = random.Random(self.seed)
        out_t, out_p, out_y = list(texts), list(pairs) if pairs else None, list(labels)
        for s, words in enumerate(sentences):
            options = [context.get((s, i)) or (neighbours.get(w) if self._eligible(w) else None)
                       for i, w in enumerate(words)]
            if not any(options):
                continue
            made = set()
            for _ in range(self.factor * 3):  # a few retries so copies differ from the original
                if len(made) >= self.factor:
                    break
                new = [rng.choice(o) if o and rng.random() < self.prob else w
                       for w, o in zip(words, options)]
                if new != words and tuple(new) not in made:
                    made.add(tuple(new))
                    out_t.append(" ".join(new))
                    if out_p is not None:
                        out_p.append(pairs[s])
                    out_y.append(IGNORE_LABEL)
        return out_t, out_p, out_y
