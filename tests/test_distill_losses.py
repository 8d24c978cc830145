"""Distillation losses against hand-computed values, layer maps, head alignment, score capture."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from pipeline.distill import losses as L  # noqa: E402
from pipeline.distill.layer_map import (align_heads, head_alignment, resolve_layer_map,  # noqa: E402
                                        uniform_layer_map)
from pipeline.errors import BertEdgeError  # noqa: E402


def t(x):
    return torch.tensor(x, dtype=torch.float32)


# --- TinyBERT ------------------------------------------------------------------------------

def test_hidden_mse_counts_only_real_tokens():
    s = t([[[1, 2], [3, 4], [9, 9]]])
    te = t([[[0, 2], [3, 2], [0, 0]]])
    mask = torch.tensor([[1, 1, 0]])
    # real tokens: (1-0)^2 + 0 + 0 + (4-2)^2 = 5 over 2 tokens x 2 units
    assert L.hidden_mse(s, te, mask).item() == pytest.approx(5 / 4)


def test_attention_score_mse_excludes_padded_positions():
    # B=1, 2 heads, L=2; token 1 is padding: only the (0, 0) pair counts.
    s = t([[[[3, 100], [100, 100]], [[0, -50], [7, 7]]]])
    te = t([[[[1, -100], [0, 0]], [[0, 50], [1, 1]]]])
    mask = torch.tensor([[1, 0]])
    # head 0: (3-1)^2 = 4, head 1: 0; mean over 1 pair x 2 heads
    assert L.attention_score_mse(s, te, mask).item() == pytest.approx(2.0)


def test_soft_cross_entropy_with_temperature():
    assert L.soft_cross_entropy(t([[0, 0]]), t([[0, 0]])).item() == pytest.approx(math.log(2))
    # T=2: student logits [2,0] -> [1,0]; log_softmax = [1 - ln(1+e), -ln(1+e)]; teacher uniform
    expected = 0.5 * (math.log(1 + math.e) - 1) + 0.5 * math.log(1 + math.e)
    assert L.soft_cross_entropy(t([[2, 0]]), t([[0, 0]]), temperature=2.0).item() == pytest.approx(expected, rel=1e-6)


# --- DistilBERT ----------------------------------------------------------------------------

def test_kl_on_softened_logits_times_t_squared():
    # teacher [ln 3, 0] -> p = [3/4, 1/4]; student uniform
    kl1 = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert L.kl_div_logits(t([[0, 0]]), t([[math.log(3), 0]])).item() == pytest.approx(kl1, rel=1e-6)
    # T=2: teacher [ln3/2, 0] -> p = [sqrt3/(sqrt3+1), 1/(sqrt3+1)]; times T^2 = 4
    r3 = math.sqrt(3)
    p = [r3 / (r3 + 1), 1 / (r3 + 1)]
    kl2 = 4 * (p[0] * math.log(p[0] / 0.5) + p[1] * math.log(p[1] / 0.5))
    got = L.kl_div_logits(t([[0, 0]]), t([[math.log(3), 0]]), temperature=2.0).item()
    assert got == pytest.approx(kl2, rel=1e-6)
    assert L.kl_div_logits(t([[1.5, -2]]), t([[1.5, -2]])).item() == pytest.approx(0.0, abs=1e-7)


def test_hard_cross_entropy_ignores_augmented_examples():
    logits = t([[0, 0], [5, -5]])
    labels = torch.tensor([0, L.IGNORE_LABEL])
    assert L.hard_cross_entropy(logits, labels).item() == pytest.approx(math.log(2))
    none = L.hard_cross_entropy(logits, torch.tensor([L.IGNORE_LABEL, L.IGNORE_LABEL]))
    assert none.item() == 0.0 and not torch.isnan(none)


def test_cosine_loss_on_hidden_states():
    s = t([[[1, 0], [0, 1], [5, 5]]])
    te = t([[[2, 0], [1, 0], [-1, 3]]])
    mask = torch.tensor([[1, 1, 0]])
    # cos = 1 and 0 on the real tokens -> mean(1 - cos) = 0.5
    assert L.cosine_hidden(s, te, mask).item() == pytest.approx(0.5)


# --- MobileBERT ----------------------------------------------------------------------------

def test_feature_map_mse_is_on_normalized_features():
    mask = torch.tensor([[1]])
    # [1, 3] and [0, 10] both normalize to [-1, 1]: scale and shift do not matter
    assert L.feature_map_mse(t([[[1, 3]]]), t([[[0, 10]]]), mask).item() == pytest.approx(0.0, abs=1e-6)
    # [1, 3] -> [-1, 1], [3, 1] -> [1, -1]: (2^2 + 2^2) / 2
    assert L.feature_map_mse(t([[[1, 3]]]), t([[[3, 1]]]), mask).item() == pytest.approx(4.0, rel=1e-5)


def test_attention_kl_between_distributions_excludes_padding():
    # one query over two real keys: student uniform, teacher [3/4, 1/4]
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    s = t([[[[0, 0]]]])
    te = t([[[[math.log(3), 0]]]])
    assert L.attention_kl(s, te, torch.tensor([[1, 1]])).item() == pytest.approx(kl, rel=1e-6)
    # add a padded key (huge scores) and a padded query row: same value
    s3 = t([[[[0, 0, 50], [0, 0, 0], [9, -9, 0]]]])
    t3 = t([[[[math.log(3), 0, -50], [0, 0, 0], [1, 2, 3]]]])
    mask = torch.tensor([[1, 1, 0]])
    # query 1 is real too: both uniform over the real keys -> KL 0; mean over 2 real queries
    assert L.attention_kl(s3, t3, mask).item() == pytest.approx(kl / 2, rel=1e-6)


# --- layer maps and heads ------------------------------------------------------------------

def test_uniform_layer_map_divisible_and_not():
    assert uniform_layer_map(4, 12) == [3, 6, 9, 12]
    assert uniform_layer_map(3, 6) == [2, 4, 6]
    assert uniform_layer_map(6, 6) == [1, 2, 3, 4, 5, 6]
    assert uniform_layer_map(4, 6) == [2, 3, 5, 6]  # 1.5, 3, 4.5, 6 rounded half up
    assert uniform_layer_map(5, 12) == [2, 5, 7, 10, 12]
    assert uniform_layer_map(8, 6) == [1, 2, 2, 3, 4, 5, 5, 6]  # deeper student than teacher
    for s in range(1, 13):
        for te in range(1, 13):
            m = uniform_layer_map(s, te)
            assert m[-1] == te and m == sorted(m) and all(1 <= x <= te for x in m)


def test_user_layer_map():
    assert resolve_layer_map([1, None, 6], 3, 6) == [1, None, 6]
    assert resolve_layer_map("2, 4,6", 3, 6) == [2, 4, 6]
    assert resolve_layer_map(None, 3, 6) == [2, 4, 6]


@pytest.mark.parametrize("bad, msg", [
    ([2, 4], "has 2 entries but the student has 3"),
    ([2, 4, 7], "out of range 1..6"),
    ([0, 2, 4], "out of range"),
    (["x", 2, 4], "not a teacher layer"),
    ([None, None, None], "every entry is null"),
    ("oops", "has 1 entries"),
])
def test_bad_layer_map_is_a_user_error(bad, msg):
    with pytest.raises(BertEdgeError, match=msg):
        resolve_layer_map(bad, 3, 6)


def test_head_alignment_averages_groups():
    assert head_alignment(12, 12) == "same"
    assert head_alignment(4, 12) == "group-teacher"
    assert head_alignment(12, 4) == "group-student"
    assert head_alignment(5, 3) == "mean"
    with pytest.warns(UserWarning, match="skipped"):
        assert head_alignment(4, 12, "skip") is None
    s = torch.zeros(1, 2, 1, 1)
    te = torch.arange(6, dtype=torch.float32).view(1, 6, 1, 1)
    a, b = align_heads(s, te, "group-teacher")
    assert b.flatten().tolist() == [1.0, 4.0]  # mean(0,1,2), mean(3,4,5)
    a, b = align_heads(torch.ones(1, 5, 1, 1), te, "mean")
    assert a.shape == b.shape == (1, 1, 1, 1) and b.item() == pytest.approx(2.5)


# --- captured scores are the model's pre-softmax scores ------------------------------------

@pytest.mark.parametrize("kind", ["bert", "mobilebert"])
def test_score_capture_matches_eager_attention(tmp_path, kind):
    """Softmax of the captured scores (padded keys masked) equals the eager attention maps,
    also when the model runs with SDPA (which returns no maps at all)."""
    from transformers import AutoModel

    from tiny_models import make_tiny_bert, make_tiny_mobilebert
    from pipeline.distill.features import FeatureModel, FeatureSpec

    d = (make_tiny_bert if kind == "bert" else make_tiny_mobilebert)(tmp_path / "m")
    eager = AutoModel.from_pretrained(d, attn_implementation="eager").eval()
    sdpa = AutoModel.from_pretrained(d, attn_implementation="sdpa").eval()
    ids = torch.tensor([[2, 40, 41, 42, 3], [2, 43, 3, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        maps = eager(input_ids=ids, attention_mask=mask, output_attentions=True).attentions
        fm = FeatureModel(sdpa, FeatureSpec(hidden=(0, 2), scores=(1, 2)))
        feats = fm(input_ids=ids, attention_mask=mask)
    for layer in (1, 2):
        probs = L.masked_softmax(feats["scores"][layer], mask)
        for b, n in enumerate(mask.sum(1).tolist()):  # real query rows and keys
            torch.testing.assert_close(probs[b, :, :n, :n], maps[layer - 1][b, :, :n, :n],
                                       atol=1e-5, rtol=1e-4)
    assert feats["hidden"][2].shape[:2] == ids.shape
