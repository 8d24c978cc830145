"""Student presets, custom configs, and DistilBERT-style initialization."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from pipeline.config import StudentConfig  # noqa: E402
from pipeline.distill.students import build_student  # noqa: E402
from pipeline.errors import BertEdgeError  # noqa: E402

LABELS = ["negative", "positive"]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A tiny 'fine-tuned' teacher: 4 layers, hidden 48, 4 heads, exact GELU like MiniLM."""
    from transformers import AutoModelForSequenceClassification

    from tiny_models import make_tiny_bert

    d = make_tiny_bert(tmp_path_factory.mktemp("t") / "teacher", hidden=48, layers=4, heads=4,
                       intermediate=96, act="gelu", labels=LABELS, seed=3)
    return AutoModelForSequenceClassification.from_pretrained(d).eval()


@pytest.mark.parametrize("preset, layers, hidden, ffn, heads", [
    ("tinybert-4l-312d", 4, 312, 1200, 12),
    ("tinybert-6l-768d", 6, 768, 3072, 12),
])
def test_tinybert_presets(teacher, preset, layers, hidden, ffn, heads):
    model, info = build_student(StudentConfig(preset=preset), teacher.config, LABELS, init_teacher=teacher)
    c = model.config
    assert (c.num_hidden_layers, c.hidden_size, c.intermediate_size, c.num_attention_heads) == \
        (layers, hidden, ffn, heads)
    assert c.hidden_act == "gelu_new"  # tanh GELU: TFLite builtin
    assert c.vocab_size == teacher.config.vocab_size and c.id2label == {0: "negative", 1: "positive"}
    assert c.label2id == {"negative": 0, "positive": 1}
    ids = torch.tensor([[2, 30, 31, 3]])
    out = model(input_ids=ids, output_hidden_states=True)
    assert out.logits.shape == (1, 2)
    assert len(out.hidden_states) == layers + 1 and out.hidden_states[-1].shape == (1, 4, hidden)


def test_mobilebert_preset_matches_teacher_width(teacher):
    model, info = build_student(StudentConfig(preset="mobilebert"), teacher.config, LABELS, init_teacher=teacher)
    c = model.config
    assert c.model_type == "mobilebert" and c.hidden_act == "relu" and c.normalization_type == "no_norm"
    assert c.hidden_size == teacher.config.hidden_size  # inter-block width: feature maps transfer directly
    assert c.num_hidden_layers == teacher.config.num_hidden_layers
    assert (c.true_hidden_size, c.num_attention_heads) == (128, 4)
    out = model(input_ids=torch.tensor([[2, 30, 31, 3]]), output_hidden_states=True)
    assert out.hidden_states[2].shape[-1] == teacher.config.hidden_size
    # same inter-block width: position / type embeddings are the teacher's
    assert torch.equal(model.base_model.embeddings.position_embeddings.weight,
                       teacher.base_model.embeddings.position_embeddings.weight)
    wider, _ = build_student(StudentConfig(preset="mobilebert", overrides={"hidden_size": 64}),
                             teacher.config, LABELS, init_teacher=teacher)
    assert wider.config.hidden_size == 64  # then the trainer adds a learned projection


def test_distilbert_style_copies_every_other_layer_ending_at_the_last(teacher):
    model, info = build_student(StudentConfig(preset="distilbert-style"), teacher.config, LABELS,
                                init_teacher=teacher)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 48
    assert model.config.hidden_act == "gelu_new"  # teacher's exact gelu replaced
    assert info.init_layers == [1, 3]  # the layers the uniform map [2, 4] has them imitate
    t_layers = teacher.base_model.encoder.layer
    for i, src in enumerate([1, 3]):
        s_sd = model.base_model.encoder.layer[i].state_dict()
        for k, v in t_layers[src].state_dict().items():
            assert torch.equal(s_sd[k], v), (i, src, k)
    assert torch.equal(model.base_model.embeddings.word_embeddings.weight,
                       teacher.base_model.embeddings.word_embeddings.weight)
    assert torch.equal(model.classifier.weight, teacher.classifier.weight)
    custom, info = build_student(StudentConfig(preset="distilbert-style", init_layers=[0, 2]),
                                 teacher.config, LABELS, init_teacher=teacher)
    assert torch.equal(custom.base_model.encoder.layer[1].attention.self.query.weight,
                       t_layers[2].attention.self.query.weight)
    with pytest.raises(BertEdgeError, match="cannot be initialized from a 4-layer teacher"):
        build_student(StudentConfig(preset="distilbert-style", overrides={"num_hidden_layers": 5}),
                      teacher.config, LABELS, init_teacher=teacher)


def test_custom_student_from_overrides_and_config_file(teacher, tmp_path):
    model, _ = build_student(StudentConfig(preset="tinybert-4l-312d", init_embeddings="random", init_encoder="random",
                                           overrides={"num_hidden_layers": 3, "hidden_size": 96,
                                                      "num_attention_heads": 6}), teacher.config, LABELS)
    assert (model.config.num_hidden_layers, model.config.hidden_size) == (3, 96)
    cfg = tmp_path / "student.json"
    cfg.write_text(json.dumps({"model_type": "bert", "vocab_size": teacher.config.vocab_size,
                               "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                               "intermediate_size": 128, "hidden_act": "gelu_new"}))
    model, info = build_student(StudentConfig(preset=str(cfg)), teacher.config, LABELS, init_teacher=teacher)
    assert model.config.hidden_size == 64 and info.family == "config"


def test_embeddings_start_from_the_teacher(teacher):
    """Narrower students get the teacher's embeddings projected on their top principal
    directions (so the geometry of the vocabulary survives); init_embeddings=random opts out."""
    from pipeline.distill.students import projection_basis

    tw = teacher.base_model.embeddings.word_embeddings.weight.detach()
    narrow, info = build_student(StudentConfig(init_encoder="random",
                                               overrides={"hidden_size": 24, "num_attention_heads": 4,
                                                          "num_hidden_layers": 1}),
                                 teacher.config, LABELS, init_teacher=teacher)
    assert "PCA 48 -> 24" in info.init
    p = projection_basis(tw, 24)
    assert p.shape == (48, 24) and torch.allclose(p.T @ p, torch.eye(24), atol=1e-4)  # orthonormal
    sw = narrow.base_model.embeddings.word_embeddings.weight
    assert torch.allclose(sw, tw @ p, atol=1e-5)
    # the projection keeps most of the variance of the teacher's embeddings
    centered = tw - tw.mean(0)
    kept = ((centered @ p) ** 2).sum() / (centered ** 2).sum()
    assert kept > 24 / 48
    rand, info = build_student(StudentConfig(init_embeddings="random", init_encoder="random",
                                             overrides={"num_hidden_layers": 1}),
                               teacher.config, LABELS)
    assert info.init == "random"
    with pytest.raises(BertEdgeError, match="init_embeddings 'pca'"):
        build_student(StudentConfig(init_embeddings="pca"), teacher.config, LABELS, init_teacher=teacher)


@pytest.mark.parametrize("spec, msg", [
    (StudentConfig(preset="tinybert-4l"), "unknown student preset 'tinybert-4l' \\(did you mean 'tinybert-4l-312d'"),
    (StudentConfig(overrides={"hiden_size": 3}), "did you mean 'hidden_size'"),
    (StudentConfig(overrides={"hidden_size": 100}), "not a multiple of num_attention_heads"),
    (StudentConfig(preset="/nonexistent/student"), "no such file or directory"),
    (StudentConfig(preset="distilbert-style", init_layers=[0, 9]), "init_layers"),
])
def test_bad_student_specs(teacher, spec, msg):
    with pytest.raises(BertEdgeError, match=msg):
        build_student(spec, teacher.config, LABELS, init_teacher=teacher)


def test_exact_gelu_override_warns(teacher):
    with pytest.warns(UserWarning, match="not a TFLite builtin"):
        build_student(StudentConfig(overrides={"hidden_act": "gelu", "num_hidden_layers": 1}),
                      teacher.config, LABELS, init_teacher=teacher)


def test_weight_selection_layers_spread_first_and_last():
    from pipeline.distill.weight_selection import spread_layers

    assert spread_layers(6, 4) == [1, 2, 4, 5]  # = uniform layer map [2, 3, 5, 6] - 1
    assert spread_layers(12, 4) == [2, 5, 8, 11]
    assert spread_layers(6, 6) == list(range(6))
    assert spread_layers(6, 1) == [5]
    assert spread_layers(6, 3) == [1, 3, 5]  # distilbert-style's default for a 6-layer teacher


def test_same_shape_student_sliced_from_teacher_is_the_teacher(teacher):
    """With the teacher's widths and depth, the selection keeps everything: same function."""
    spec = StudentConfig(overrides={"hidden_size": 48, "num_attention_heads": 4, "intermediate_size": 96,
                                    "hidden_act": "gelu"}, init_encoder="teacher")
    spec.overrides["num_hidden_layers"] = 4
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exact gelu warns (not a TFLite builtin)
        model, info = build_student(spec, teacher.config, LABELS, init_teacher=teacher)
    assert info.init.startswith("sliced from the teacher") and info.init_layers == [0, 1, 2, 3]
    ids = torch.tensor([[2, 30, 31, 40, 3, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        assert torch.allclose(model.eval()(input_ids=ids, attention_mask=mask).logits,
                              teacher(input_ids=ids, attention_mask=mask).logits, atol=1e-5)


def test_narrow_student_takes_the_teachers_most_important_units(teacher):
    """Hidden units ranked by LayerNorm gain, head dims by q/k norms, neurons by in x out norms;
    the student keeps sub-matrices of the teacher layers its losses pair it with."""
    import copy

    t = copy.deepcopy(teacher)
    base = t.base_model
    keep = [1, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 44, 45, 47]  # 16 of 48 hidden units
    with torch.no_grad():
        for ln in [base.embeddings.LayerNorm] + [m for l in base.encoder.layer
                                                 for m in (l.attention.output.LayerNorm, l.output.LayerNorm)]:
            ln.weight.fill_(0.5)
            ln.weight[keep] = 2.0
    spec = StudentConfig(overrides={"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 40,
                                    "num_hidden_layers": 2})
    model, info = build_student(spec, t.config, LABELS, init_teacher=t)
    assert info.init_layers == [1, 3] and "hidden 48->16" in info.init and "head dim 12->8" in info.init
    keep_t = torch.tensor(keep)
    assert torch.equal(model.base_model.embeddings.word_embeddings.weight,
                       base.embeddings.word_embeddings.weight[:, keep_t])
    tl, sl = base.encoder.layer[3], model.base_model.encoder.layer[1]
    # heads 0 and 3 of the teacher's 4 are kept; every kept key row is a teacher key row restricted to `keep`
    t_keys = tl.attention.self.key.weight[:, keep_t]
    for row in sl.attention.self.key.weight:
        assert (t_keys - row).abs().sum(1).min() < 1e-6
    assert sl.intermediate.dense.weight.shape == (40, 16)
    for row in sl.intermediate.dense.weight:
        assert (tl.intermediate.dense.weight[:, keep_t] - row).abs().sum(1).min() < 1e-6
    assert torch.equal(model.classifier.weight, t.classifier.weight[:, keep_t])


def test_students_that_cannot_be_sliced_fall_back_or_fail_clearly(teacher):
    wide, info = build_student(StudentConfig(preset="tinybert-4l-312d"), teacher.config, LABELS, init_teacher=teacher)
    assert "layers random" in info.init and "cannot slice the teacher (student is wider" in info.notes[0]
    with pytest.raises(BertEdgeError, match="init_encoder 'copy' is not one of: teacher, random"):
        build_student(StudentConfig(init_encoder="copy"), teacher.config, LABELS, init_teacher=teacher)
    with pytest.raises(BertEdgeError, match="init_layers \\[0, 9\\]"):
        build_student(StudentConfig(init_layers=[0, 9], overrides={"hidden_size": 16, "num_attention_heads": 2,
                                                                  "intermediate_size": 40, "num_hidden_layers": 2}),
                      teacher.config, LABELS, init_teacher=teacher)


def test_mobilebert_embeddings_start_close_to_the_teachers(teacher):
    """The mobilebert preset reads PCA-narrowed word embeddings through its trigram map and a
    NoNorm: both are set so that the embedding output starts near the teacher's (random-init
    students start unrelated to it)."""
    ids = torch.randint(0, teacher.config.vocab_size, (8, 16), generator=torch.Generator().manual_seed(1))

    def closeness(model):
        model.eval()
        with torch.no_grad():
            s = model.base_model.embeddings(input_ids=ids)
            t = teacher.base_model.embeddings(input_ids=ids)
        return torch.nn.functional.cosine_similarity(s, t, dim=-1).mean().item()

    init, info = build_student(StudentConfig(preset="mobilebert"), teacher.config, LABELS, init_teacher=teacher)
    assert "mapped back to the hidden width" in info.init and "NoNorm fitted" in info.init
    rand, _ = build_student(StudentConfig(preset="mobilebert", init_embeddings="random"), teacher.config,
                            LABELS, init_teacher=teacher)
    assert closeness(init) > 0.9 > 0.3 > abs(closeness(rand))


def test_benchmark_init_compares_which_teacher_layers_a_student_copies(teacher, tmp_path):
    """scripts/benchmark_init.py --init-layers: one row per layer choice, each a differently
    initialized student; a choice the teacher cannot give is one error line, exit 2."""
    import subprocess

    from tiny_models import sharpen, write_tiny_tokenizer

    teacher_dir = tmp_path / "teacher"
    teacher.save_pretrained(teacher_dir)
    write_tiny_tokenizer(teacher_dir)
    sharpen(teacher_dir)
    words = "good bad movie film fun dull great awful plot acting boring brilliant".split()
    rows = [f"{words[i % 12]} {words[(i * 5) % 12]} {words[(i * 7) % 12]} film\t{i % 2}" for i in range(40)]
    dev = tmp_path / "dev.tsv"
    dev.write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    script = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_init.py"
    base = [sys.executable, str(script), "--teacher", str(teacher_dir), "--dev", str(dev),
            "--preset", "distilbert-style"]
    r = subprocess.run(base + ["--init-layers", "0,2", "--init-layers", "1,3"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    table = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in r.stdout.splitlines()
             if line.startswith("| sliced")}
    assert list(table) == ["sliced from teacher layers [0, 2]", "sliced from teacher layers [1, 3]"]
    assert len(set(table.values())) == 2, table  # agreement with the teacher differs: the layers differ
    for bad, msg in (("0,9", "error: student.init_layers [0, 9]: need 2 teacher layer indices in 0..3"),
                     ("0,x", "error: --init-layers takes comma lists of integers")):
        r = subprocess.run(base + ["--init-layers", bad], capture_output=True, text=True, timeout=300)
        # the last stderr line (libraries may warn before it), no traceback, no half table
        assert r.returncode == 2 and r.stderr.splitlines()[-1].startswith(msg), r.stderr
        assert "Traceback" not in r.stderr and r.stdout == ""
