"""End-to-end distillation on tiny models: phases, methods, cache, augmentation, errors,
kill + resume, and a 2-process gloo run."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from pipeline.config import load_config  # noqa: E402
from pipeline.distill import run_distillation  # noqa: E402
from pipeline.errors import BertEdgeError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LABELS = ["negative", "positive"]
POS = ["good", "great", "fun", "wonderful", "brilliant", "nice", "best", "fine"]
NEG = ["bad", "awful", "boring", "dull", "terrible", "poor", "worst", "hate"]
TINY_STUDENT = "{hidden_size: 32, intermediate_size: 64, num_attention_heads: 4, num_hidden_layers: 2}"


def _write_data(root: Path, seed: int = 0) -> None:
    rng = random.Random(seed)

    def sentence():
        y = rng.random() < 0.5
        word = rng.choice(POS if y else NEG)
        filler = rng.choice(["the plot was", "it is", "i think the acting was", "this film is"])
        tail = rng.choice(["", " and the story was long", " i think", " in the end"])
        return f"{filler} {word}{tail}", int(y)

    for name, n in (("train.tsv", 240), ("dev.tsv", 80)):
        rows = [sentence() for _ in range(n)]
        (root / name).write_text("sentence\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    (root / "unlabeled.txt").write_text("".join(f"{sentence()[0]}\n" for _ in range(160)))


def fix_tiny_tokenizer(model_dir: Path) -> None:
    """tests/tiny_models.write_tiny_tokenizer passes `vocab_file=`, which transformers 5 ignores
    (every word becomes [UNK]); rebuild the tokenizer from the vocabulary itself."""
    from transformers import BertTokenizerFast

    from tiny_models import tiny_vocab

    vocab = tiny_vocab()
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (model_dir / f).unlink(missing_ok=True)
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True).save_pretrained(model_dir)
    (model_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny data, a pretrained-like base teacher, a fine-tuned teacher (really trained, so the
    student has something to learn), and a masked-LM model for augmentation."""
    from transformers import BertForMaskedLM, BertModel

    from pipeline.config import FinetuneConfig
    from pipeline.data import resolve_labeled
    from pipeline.finetune import finetune_teacher
    from tiny_models import make_tiny_bert

    root = tmp_path_factory.mktemp("distill")
    _write_data(root)
    base_cls = make_tiny_bert(root / "base_cls", hidden=48, layers=4, heads=4, intermediate=96,
                              act="gelu", labels=LABELS, seed=1)
    fix_tiny_tokenizer(base_cls)
    from transformers import AutoModelForSequenceClassification

    m = AutoModelForSequenceClassification.from_pretrained(base_cls)
    m.bert.save_pretrained(root / "base")  # a base model: no classifier, no labels.txt
    fix_tiny_tokenizer(root / "base")
    mlm = BertForMaskedLM(m.config)
    mlm.bert.load_state_dict(m.bert.state_dict(), strict=False)
    mlm.save_pretrained(root / "mlm")
    fix_tiny_tokenizer(root / "mlm")
    data_cfg = load_config(None, ["data.label_names=[negative, positive]"]).data
    train = resolve_labeled(str(root / "train.tsv"), "train", data_cfg)
    dev = resolve_labeled(str(root / "dev.tsv"), "dev", data_cfg, label_names=train.label_names)
    ft = FinetuneConfig(epochs=6, batch_size=16, learning_rate=1e-3, max_seq_length=32, warmup_ratio=0.1)
    metrics = finetune_teacher(str(base_cls), train, dev, root / "teacher", ft, seed=0, progress=False)
    assert metrics["dev"]["accuracy"] >= 0.85, metrics["dev"]["accuracy"]  # the teacher learned the task
    return {"root": root, "teacher": root / "teacher", "base": root / "base", "mlm": root / "mlm",
            "teacher_acc": metrics["dev"]["accuracy"]}


def tiny_cfg(world, *overrides):
    r = world["root"]
    return load_config(None, [
        f"teacher.model={world['base']}", f"data.train={r / 'train.tsv'}", f"data.dev={r / 'dev.tsv'}",
        f"data.unlabeled={r / 'unlabeled.txt'}", "data.label_names=[negative, positive]",
        f"student.overrides={TINY_STUDENT}",
        "distill.general={epochs: 1, batch_size: 16, max_seq_length: 32, learning_rate: 3.0e-3}",
        "distill.task_intermediate={epochs: 2, batch_size: 16, max_seq_length: 32, learning_rate: 3.0e-3}",
        "distill.task_prediction={epochs: 4, batch_size: 16, max_seq_length: 32, learning_rate: 3.0e-3}",
        "distill.log_every=1", "distill.checkpoint_every=0", *overrides])


def log_records(out: Path, event: str = "step") -> list[dict]:
    return [json.loads(l) for l in (out / "distill_log.jsonl").read_text().splitlines()
            if json.loads(l)["event"] == event]


# --- phases and methods ----------------------------------------------------------------------

def test_general_and_task_distillation_end_to_end(world, tmp_path):
    from safetensors import safe_open
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "student"
    m = run_distillation(tiny_cfg(world), str(world["teacher"]), out, progress=False)
    assert [s["phase"] for s in m["phases"]] == ["general", "task-intermediate", "task-prediction"]
    assert m["layer_map"] == [2, 4]
    # the student learned the task from the teacher (chance is ~0.5)
    assert m["dev_accuracy"] >= 0.75, m["dev_accuracy"]
    assert m["teacher_dev_accuracy"] == pytest.approx(world["teacher_acc"])
    files = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "labels.txt", "projections.safetensors",
            "distill_log.jsonl", "metrics.json"} <= files
    assert not (tmp_path / "student.work").exists()  # checkpoints and caches cleaned up
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["id2label"] == {"0": "negative", "1": "positive"} and cfg["label2id"]["positive"] == 1
    assert cfg["hidden_act"] == "gelu_new" and cfg["architectures"] == ["BertForSequenceClassification"]
    assert (out / "labels.txt").read_text() == "negative\npositive\n"
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert not any("projection" in k for k in f.keys())  # training-only parts stay out
    with safe_open(str(out / "projections.safetensors"), "pt") as f:
        assert {"layer0.weight", "layer1.weight", "layer2.weight"} <= set(f.keys())
        assert f.get_tensor("layer1.weight").shape == (48, 32)  # student 32 -> teacher 48
    student = AutoModelForSequenceClassification.from_pretrained(out)
    assert student.config.num_labels == 2
    steps = log_records(out)
    gen = [r for r in steps if r["phase"] == "general"]
    assert {"emb", "hidden", "attn", "loss"} <= set(gen[0]) and gen[-1]["loss"] < gen[0]["loss"]
    assert {"soft_ce"} <= set([r for r in steps if r["phase"] == "task-prediction"][0])
    assert json.loads((out / "metrics.json").read_text())["dev_accuracy"] == m["dev_accuracy"]
    # before the prediction phase: how input-dependent the student's [CLS] is, vs the teacher's
    spread = m["phases"][1]["cls_spread"]
    assert spread["teacher"] > 0 and spread["student"] > 0.01 * spread["teacher"]
    # the default init: a slice of the teacher (the layers the uniform map pairs with the student's)
    assert m["student"]["init"].startswith("sliced from the teacher") and "hidden 48->32" in m["student"]["init"]
    assert m["student"]["init_layers"] == [1, 3] and m["layer_map"] == [2, 4]


def test_labels_only_baseline_needs_no_teacher(world, tmp_path):
    out = tmp_path / "labels"
    m = run_distillation(tiny_cfg(world, "distill.method=labels-only"), None, out, progress=False)
    assert m["method"] == "labels-only" and m["teacher_dev_accuracy"] is None
    assert [s["phase"] for s in m["phases"]] == ["task-prediction"]
    steps = log_records(out)
    assert set(steps[0]) & {"ce", "soft_ce", "kl", "hidden"} == {"ce"}
    assert m["dev_accuracy"] > 0.5


def test_distilbert_method_with_distilbert_style_student(world, tmp_path):
    out = tmp_path / "distil"
    cfg = tiny_cfg(world, "distill.method=distilbert", "student.preset=distilbert-style", "student.overrides={}",
                   "distill.phases=[task-prediction]", "distill.temperature=2.0",
                   "distill.task_prediction.max_steps=6")
    m = run_distillation(cfg, str(world["teacher"]), out, progress=False)
    assert m["student"]["layers"] == 2 and m["student"]["init_layers"] == [1, 3]
    assert set(log_records(out)[0]) >= {"kl", "ce", "cos"}
    assert not (out / "projections.safetensors").exists()  # same width: no projections


def test_mobilebert_progressive_layer_by_layer(world, tmp_path):
    out = tmp_path / "mobile"
    cfg = tiny_cfg(world, "distill.method=mobilebert", "student.preset=mobilebert",
                   "student.overrides={true_hidden_size: 32, intra_bottleneck_size: 32, embedding_size: 32, "
                   "intermediate_size: 64, num_hidden_layers: 2}",
                   "distill.phases=[task-intermediate, task-prediction]", "distill.progressive=true",
                   "distill.task_intermediate.max_steps=8", "distill.task_prediction.max_steps=4")
    m = run_distillation(cfg, str(world["teacher"]), out, progress=False)
    inter = [r for r in log_records(out) if r["phase"] == "task-intermediate"]
    assert [r["layer"] for r in inter] == [1] * 4 + [2] * 4  # one student layer at a time
    assert {"fmt", "at"} <= set(inter[0])
    assert m["head_alignment"] == "same" and m["student"]["model_type"] == "mobilebert"
    assert m["layer_map"] == [2, 4]


# --- teacher cache ---------------------------------------------------------------------------

def test_cache_gives_the_same_losses_as_the_live_teacher(world, tmp_path):
    common = ["distill.phases=[task-intermediate, task-prediction]", "distill.task_intermediate.max_steps=10",
              "distill.task_prediction.max_steps=10"]
    runs = {}
    for name, extra in (("live", ["distill.cache_teacher=false"]),
                        ("f32", ["distill.cache_dtype=float32", f"distill.cache_dir={tmp_path / 'c32'}"]),
                        ("f16", ["distill.cache_dtype=float16"])):
        out = tmp_path / name
        runs[name] = run_distillation(tiny_cfg(world, *common, *extra), str(world["teacher"]), out, progress=False)
        runs[name]["steps"] = log_records(out)
    live, f32, f16 = (runs[k]["steps"] for k in ("live", "f32", "f16"))
    assert all(e["teacher"] == "live" for s in runs["live"]["phases"] for e in s["epochs"])
    assert all(e["teacher"] == "cache" for s in runs["f32"]["phases"] for e in s["epochs"])
    for a, b, c in zip(live, f32, f16):
        for k in ("emb", "hidden", "attn", "soft_ce", "loss"):
            if k in a:
                assert b[k] == pytest.approx(a[k], rel=1e-4, abs=1e-6), (k, a, b)
                assert c[k] == pytest.approx(a[k], rel=2e-2, abs=1e-3), (k, a, c)
    assert runs["f32"]["dev_accuracy"] == runs["live"]["dev_accuracy"]
    # the cache holds only real tokens, in the requested dtype, and is reused by the next run
    cache_dirs = list((tmp_path / "c32").iterdir())
    assert len(cache_dirs) == 1
    meta = json.loads((cache_dirs[0] / "meta.json").read_text())
    assert meta["complete"] and meta["dtype"] == "float32" and meta["logits"] and meta["scores"] == [2, 4]
    again = run_distillation(tiny_cfg(world, *common, "distill.cache_dtype=float32",
                                      f"distill.cache_dir={tmp_path / 'c32'}"),
                             str(world["teacher"]), tmp_path / "again", progress=False)
    assert again["phases"][0]["cache"]["built_examples"] == 0
    assert again["dev_accuracy"] == runs["f32"]["dev_accuracy"]


# --- augmentation ----------------------------------------------------------------------------

def test_augmentation_is_batched_and_changes_words(world):
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from pipeline.distill.augment import Augmenter, has_mlm_head
    from pipeline.distill.losses import IGNORE_LABEL
    from pipeline.teacher import load_tokenizer

    tok = load_tokenizer(world["teacher"])
    texts = ["the movie was good and the plot was bad", "i hate this boring film", "great acting"]
    assert has_mlm_head(world["mlm"]) and not has_mlm_head(world["teacher"])
    # masked-LM candidates: every single-piece word of every sentence, batched
    mlm = AutoModelForMaskedLM.from_pretrained(world["mlm"])
    aug = Augmenter(tok, mlm_model=mlm, candidates=5, prob=0.5, factor=3, seed=0, batch_size=8)
    words = sum(len(aug.words(t)) for t in texts)
    out_t, out_p, out_y = aug.augment(texts, None, [1, 0, 1])
    assert aug.forward_calls == -(-words // 8) < words  # ceil(words / batch), not one pass per word
    assert out_t[:3] == texts and out_y[:3] == [1, 0, 1]
    new = out_t[3:]
    assert 6 <= len(new) <= 9 and all(y == IGNORE_LABEL for y in out_y[3:])
    assert all(n not in texts for n in new) and len(set(new)) == len(new)
    # embedding-neighbour candidates (teacher without a masked-LM head)
    teacher = AutoModelForSequenceClassification.from_pretrained(world["teacher"])
    aug2 = Augmenter(tok, embeddings=teacher.get_input_embeddings().weight, candidates=5, prob=0.5,
                     factor=2, seed=1)
    t2, p2, y2 = aug2.augment(texts, ["a", "b", "c"], [1, 0, 1])
    assert aug2.forward_calls == 0 and len(t2) > 3 and p2[3] in ("a", "b", "c")
    changed = [set(a.split()) ^ set(b.split()) for a, b in zip(t2[3:], [texts[["a", "b", "c"].index(p)] for p in p2[3:]])]
    assert all(changed)
    nb = aug2.embedding_neighbours(["good"])["good"]
    assert len(nb) == 5 and "good" not in nb and all(w.isalpha() for w in nb)


def test_augmented_task_distillation_run(world, tmp_path):
    cfg = tiny_cfg(world, "distill.phases=[task-intermediate, task-prediction]", "distill.augment=true",
                   "distill.augment_factor=2", "distill.task_intermediate.max_steps=4",
                   "distill.task_prediction.max_steps=4", "distill.task_unlabeled=true")
    m = run_distillation(cfg, str(world["teacher"]), tmp_path / "aug", progress=False)
    assert m["augmentation"]["original"] == 240 and m["augmentation"]["augmented"] > 240
    assert m["augmentation"]["source"] == "embedding neighbours"
    assert 0 < m["task_unlabeled_examples"] <= 160
    assert m["phases"][0]["examples"] == 240 + m["augmentation"]["augmented"] + m["task_unlabeled_examples"]


# --- bad inputs: one-line errors ---------------------------------------------------------------

def _cli(world, tmp_path, *args):
    from pipeline import cli

    r = world["root"]
    argv = ["distill", "--out", str(tmp_path / "err"), "--train", str(r / "train.tsv"), "--dev", str(r / "dev.tsv"),
            "--unlabeled", str(r / "unlabeled.txt"), "--set", "data.label_names=[negative, positive]",
            "--set", f"teacher.model={world['base']}", "--set", f"student.overrides={TINY_STUDENT}",
            "--max-steps", "1", "--no-progress", *args]
    return cli.main(argv)


@pytest.mark.parametrize("args, msg", [
    (["--student", "tinybert-4l-321d", "--teacher", "{teacher}"], "unknown student preset 'tinybert-4l-321d' (did you mean 'tinybert-4l-312d'?)"),
    (["--layer-map", "1,9", "--teacher", "{teacher}"], "distill.layer_map[1]: teacher layer 9 is out of range 1..4"),
    (["--layer-map", "1,2,3", "--teacher", "{teacher}"], "distill.layer_map has 3 entries but the student has 2 layers"),
    (["--phases", "task-intermediate", "--teacher", "{base}"], "the teacher has no classifier head and labels.txt"),
    (["--phases", "task-prediction"], "task distillation needs a fine-tuned teacher"),
    (["--phases", "general,task-predict", "--teacher", "{teacher}"], "unknown phase 'task-predict'"),
    (["--teacher", "{teacher}", "--set", "distill.task_prediction.loss_weights={soft_ce: 1, cosine: 1}"],
     "unknown loss 'cosine' (did you mean 'cos'?)"),
    (["--teacher", "/nonexistent/teacher"], "teacher directory not found"),
    (["--teacher", "minilm"], "the teacher has no classifier head and labels.txt"),  # pretrained, not fine-tuned
    (["--method", "tinybret"], "distill.method 'tinybret' is unknown (did you mean 'tinybert'?)"),
    (["--teacher", "{teacher}", "--set", "student.init_from=/nonexistent/model"], "/nonexistent/model"),
    (["--teacher", "{teacher}", "--set", "student.init_from=minilm"],  # MiniLM's vocabulary is not the tiny teacher's
     "student.init_from=minilm: cannot slice the student from it (vocabulary sizes differ)"),
])
def test_bad_inputs_give_one_line_errors(world, tmp_path, capsys, args, msg):
    args = [a.replace("{base}", str(world["base"])).replace("{teacher}", str(world["teacher"])) for a in args]
    assert _cli(world, tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and msg in err, err


def test_labels_only_student_sliced_from_the_embedded_pretrained_minilm(world, tmp_path, capsys):
    # the stricter baseline: a student that inherits no task knowledge from a fine-tuned teacher
    out = tmp_path / "pre"
    assert _cli(world, tmp_path, "--method", "labels-only", "--teacher", "minilm", "--out", str(out)) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "labels-only" and m["student"]["init"].startswith("sliced from the teacher")
    assert "hidden 384->32" in m["student"]["init"]  # MiniLM-L6-H384, not teacher.model (48 wide)
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 30522


def test_distilled_student_can_start_from_the_pretrained_model(world, tmp_path):
    # student.init_from: distilled from the fine-tuned teacher, sliced from the pretrained MiniLM
    # (the same init as the `--teacher minilm` labels-only baseline, so the two compare like for like)
    from safetensors.torch import load_file

    out = tmp_path / "pre-kd"
    assert _cli(world, tmp_path, "--teacher", str(world["teacher"]), "--set", f"student.init_from={world['base']}",
                "--phases", "task-intermediate,task-prediction", "--set", "distill.task_intermediate.learning_rate=1e-12", "--set", "distill.task_prediction.learning_rate=1e-12",
                "--out", str(out)) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "tinybert" and m["student"]["init"].startswith("sliced from the teacher")
    assert m["student"]["init"].endswith(f"student.init_from={world['base']}")
    # the student's first layer is a slice of the pretrained base's (values copied, the learning
    # rate too small to move them), not of the fine-tuned teacher's
    layer = m["student"]["init_layers"][0]
    student = load_file(out / "model.safetensors")["bert.encoder.layer.0.attention.self.key.weight"].numpy()
    key = f"encoder.layer.{layer}.attention.self.key.weight"
    base = load_file(world["base"] / "model.safetensors")[key].numpy()
    teacher = load_file(world["teacher"] / "model.safetensors")[f"bert.{key}"].numpy()
    assert np.isin(student, base).all() and not np.isin(student, teacher).any()


def test_resume_with_changed_settings_is_refused(world, tmp_path, monkeypatch):
    from pipeline.distill.checkpoint import Checkpointer

    cfg = tiny_cfg(world, "distill.phases=[task-prediction]", "distill.task_prediction.max_steps=6",
                   "distill.checkpoint_every=2")
    out = tmp_path / "s"
    real = Checkpointer.save

    class Stop(Exception):
        pass

    def save_then_stop(self, name, state, tensors):  # an interrupted run: stop after a checkpoint
        real(self, name, state, tensors)
        raise Stop

    monkeypatch.setattr(Checkpointer, "save", save_then_stop)
    with pytest.raises(Stop):
        run_distillation(cfg, str(world["teacher"]), out, progress=False)
    monkeypatch.undo()
    changed = tiny_cfg(world, "distill.phases=[task-prediction]", "distill.task_prediction.max_steps=6",
                       "distill.checkpoint_every=2", "distill.temperature=3.0")
    with pytest.raises(BertEdgeError, match="different settings .*temperature: 1.0 -> 3.0"):
        run_distillation(changed, str(world["teacher"]), out, progress=False, resume=True)
    m = run_distillation(cfg, str(world["teacher"]), out, progress=False, resume=True)
    assert m["phases"][0]["steps"] == 6


# --- processes: kill + resume, two ranks ----------------------------------------------------

def _distill_cmd(world, out: Path, *extra) -> list[str]:
    r = world["root"]
    cmd = [sys.executable, "-m", "pipeline.cli", "distill", "--teacher", str(world["teacher"]), "--out", str(out),
           "--train", str(r / "train.tsv"), "--dev", str(r / "dev.tsv"), "--unlabeled", str(r / "unlabeled.txt"),
           "--no-progress", "--batch-size", "16", "--max-seq-length", "32", "--lr", "3e-3"]
    for s in ["data.label_names=[negative, positive]", f"teacher.model={world['base']}",
              f"student.overrides={TINY_STUDENT}", "distill.general.max_steps=5",
              "distill.task_intermediate.max_steps=12", "distill.task_prediction.epochs=2",
              "distill.checkpoint_every=4", "distill.keep_best=false"]:  # final weights, not the best
        cmd += ["--set", s]
    return cmd + list(extra)


def _env(**kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", **kw}
    env.pop("BERT_EDGE_FAULT_AT_STEP", None) if "BERT_EDGE_FAULT_AT_STEP" not in kw else None
    return env


def _weights(d: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(d / "model.safetensors"))


@pytest.fixture(scope="module")
def uninterrupted(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "student"
    r = subprocess.run(_distill_cmd(world, out), cwd=REPO, env=_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.mark.parametrize("kill_at", ["task-intermediate:6", "task-prediction:19"])
def test_kill_mid_epoch_then_resume_gives_identical_weights(world, uninterrupted, tmp_path, kill_at):
    """SIGKILL right after a step that is mid-epoch and between checkpoints (every 4 steps):
    --resume redoes the lost steps and ends with bit-identical weights."""
    out = tmp_path / "student"
    r = subprocess.run(_distill_cmd(world, out), cwd=REPO, env=_env(BERT_EDGE_FAULT_AT_STEP=kill_at),
                       capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert not out.exists() and (tmp_path / "student.work" / "checkpoints" / "LATEST").is_file()
    state = json.loads(next((tmp_path / "student.work" / "checkpoints").glob("ckpt-*/state.json")).read_text())
    assert state["phase"] == kill_at.split(":")[0] and 0 < state["position"]  # mid-epoch position saved
    r = subprocess.run(_distill_cmd(world, out, "--resume"), cwd=REPO, env=_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "resuming from ckpt-" in r.stdout
    a, b = _weights(uninterrupted), _weights(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    full = json.loads((uninterrupted / "metrics.json").read_text())
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["dev_accuracy"] == full["dev_accuracy"]
    # the log has no duplicated steps after the resume
    steps = [(x["phase"], x["step"]) for x in log_records(out)]
    assert len(steps) == len(set(steps)) == len([x for x in log_records(uninterrupted)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_agree(world, tmp_path):
    out = tmp_path / "ddp"
    cmd = _distill_cmd(world, out)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port())] + cmd[1:]
    r = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["world_size"] == 2 and len(m["rank_checksums"]) == 2 and m["ranks_agree"]
    assert m["rank_checksums"][0] == m["rank_checksums"][1]
    # each process saw half of every global batch: same number of optimizer steps as one process
    assert m["phases"][1]["steps"] == 12


def test_every_epoch_draws_a_new_order(world, tmp_path, monkeypatch):
    from pipeline.distill import trainer

    seen = []
    real = trainer.epoch_batches

    def spy(n, batch_size, seed, phase, epoch, *args, **kw):
        seen.append((phase, epoch))
        return real(n, batch_size, seed, phase, epoch, *args, **kw)

    monkeypatch.setattr(trainer, "epoch_batches", spy)
    cfg = tiny_cfg(world, "distill.method=labels-only", "distill.task_prediction.epochs=3")
    m = run_distillation(cfg, None, tmp_path / "s", progress=False)
    assert seen == [(0, 0), (0, 1), (0, 2)]
    epochs = m["phases"][0]["epochs"]
    assert [e["steps"] for e in epochs] == [15, 15, 15] and all(e["cpu_seconds"] > 0 for e in epochs)


def test_epoch_batches_cover_each_example_once_and_split_across_ranks():
    import numpy as np

    from pipeline.training import epoch_batches, steps_per_epoch

    lengths = np.random.default_rng(0).integers(3, 60, size=103)
    for grouped in (None, lengths):
        one = epoch_batches(103, 16, seed=1, phase=0, epoch=2, lengths=grouped)
        assert sorted(np.concatenate(one).tolist()) == list(range(103))
        assert len(one) == steps_per_epoch(103, 16, 1) == 7
        r0 = epoch_batches(103, 16, 1, 0, 2, world=2, rank=0, lengths=grouped)
        r1 = epoch_batches(103, 16, 1, 0, 2, world=2, rank=1, lengths=grouped)
        assert len(r0) == len(r1) == steps_per_epoch(103, 16, 2)
        for a, b, g in zip(r0, r1, one):  # each global batch split in two halves
            assert sorted(np.concatenate([a, b]).tolist()) == sorted(g.tolist())
        assert [b.tolist() for b in one] == [b.tolist() for b in epoch_batches(103, 16, 1, 0, 2, lengths=grouped)]
        assert [b.tolist() for b in one] != [b.tolist() for b in epoch_batches(103, 16, 1, 0, 3, lengths=grouped)]
    # grouping by length pads far less
    grouped = epoch_batches(103, 16, 1, 0, 0, lengths=lengths)
    plain = epoch_batches(103, 16, 1, 0, 0)
    padded = lambda bs: sum(len(b) * lengths[b].max() for b in bs)  # noqa: E731
    assert padded(grouped) < 0.8 * padded(plain)
