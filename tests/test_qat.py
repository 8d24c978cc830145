"""converters/qat.py: the PyTorch simulation predicts the full-int8 TFLite file, fine-tuning
against it lowers its error, and convert_all converts full int8 from the fine-tuned copy."""
from __future__ import annotations

import numpy as np
import pytest

from tests.test_converters import CAL_TEXTS, INPUTS, L, _cases, make_student

TEXTS = CAL_TEXTS * 8  # QAT trains on task texts; the tiny model needs only a few


@pytest.fixture(scope="module")
def full_int8(tmp_path_factory):
    from converters import convert_all

    root = tmp_path_factory.mktemp("qat")
    student = make_student(root / "student")
    out = root / "convert"
    report = convert_all(student, out, targets=["tflite_int8_full"], max_seq_length=L,
                         calibration_texts=CAL_TEXTS, num_calibration=8, progress=False)
    return student, out, report


def _calibration(student, n=8):
    from converters import validate
    from converters.convert import sample_calibration_texts

    texts, _ = sample_calibration_texts(CAL_TEXTS, n)
    enc = validate.encode(student.tokenizer, texts, L)
    return [{k: enc[k][i:i + 1] for k in INPUTS} for i in range(len(texts))]


def test_simulation_has_the_int8_files_error(full_int8):
    """The simulated int8 model moves the logits as much as the real full-int8 file does (the
    rounding itself differs: LiteRT's kernels round their own way, so per-sentence errors only
    partly agree). A simulation missing quantization points, or mishandling the mask, fails."""
    import copy

    import torch

    from converters import qat, validate
    from converters.runtimes import TFLiteRunner
    from converters.student import load_student
    from converters.tflite import FULL_INT8_MASK_VALUE

    student_dir, out, _ = full_int8
    student = load_student(student_dir, L)
    rng = np.random.default_rng(0)
    words = " ".join(CAL_TEXTS).split()
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 30))) for _ in range(60)]
    enc = validate.encode(student.tokenizer, texts, L)
    real = TFLiteRunner(str(out / "model_int8_full.tflite"), num_threads=1).logits(
        *(enc[k] for k in INPUTS))
    sim = qat.Simulated(copy.deepcopy(student.model), FULL_INT8_MASK_VALUE,
                        cls_split=full_int8[2]["artifacts"]["tflite_int8_full"]["cls_split"])
    sim.calibrate([{k: torch.as_tensor(s[k], dtype=torch.long) for k in INPUTS}
                   for s in _calibration(student)])
    with torch.no_grad():  # padded to L like the calibration, and at real length
        padded = sim.model(**{k: torch.as_tensor(enc[k], dtype=torch.long) for k in INPUTS}).logits
        simulated = np.concatenate([sim.model(**student.tokenizer(t, return_tensors="pt")).logits
                                    for t in texts])
        flt = np.concatenate([student.model(**student.tokenizer(t, return_tensors="pt")).logits
                              for t in texts])
    err_real, err_sim = np.abs(real - flt).mean(), np.abs(simulated - flt).mean()
    assert err_real > 1e-3 and 0.5 < err_sim / err_real < 2.0, (err_sim, err_real)
    # padding only re-rounds a few values (a mask the simulation ignored moves every logit)
    assert np.abs(padded.numpy() - simulated).mean() < 0.25 * err_real


def test_finetune_lowers_the_simulated_error_and_returns_a_plain_copy(tmp_path):
    import torch

    from converters import qat
    from converters.student import load_student
    from converters.tflite import FULL_INT8_MASK_VALUE

    student = load_student(make_student(tmp_path / "student"), L)
    before = {k: v.clone() for k, v in student.model.state_dict().items()}
    impl = student.model.config._attn_implementation
    tuned, facts = qat.finetune(student.model, student.tokenizer, TEXTS, _calibration(student),
                                steps=60, mask_value=FULL_INT8_MASK_VALUE, learning_rate=1e-3,
                                batch_size=8, recalibrate_every=20)
    assert facts["steps"] == 60 and facts["loss_last_tenth"] < facts["loss_first_tenth"], facts
    assert facts["simulated_after"]["mean_abs_diff"] < facts["simulated_before"]["mean_abs_diff"], facts
    # the input model is untouched; the result is a plain HF model with the same tensors
    assert all(torch.equal(v, student.model.state_dict()[k]) for k, v in before.items())
    assert tuned is not student.model and set(tuned.state_dict()) == set(before)
    assert {type(m).__name__ for m in tuned.modules()} == {type(m).__name__ for m in student.model.modules()}
    assert tuned.config._attn_implementation == impl and not tuned.training
    changed = [k for k, v in tuned.state_dict().items() if not torch.equal(v, before[k])]
    assert changed and not any("embeddings" in k for k in changed)  # embeddings stay frozen


def test_convert_full_int8_from_the_quantization_aware_copy(tmp_path, full_int8):
    from converters import convert_all

    student, _, plain = full_int8
    out = tmp_path / "convert"
    report = convert_all(student, out, targets=["tflite_int8_full"], max_seq_length=L,
                         calibration_texts=TEXTS, num_calibration=8, progress=False,
                         full_int8_qat_steps=20)
    entry = report["artifacts"]["tflite_int8_full"]
    assert entry["qat"]["steps"] == 20 and entry["qat"]["train_texts"] == len(TEXTS)
    # validated against the float student like any artifact, and a different file
    assert entry["validation"]["cases"] == plain["artifacts"]["tflite_int8_full"]["validation"]["cases"]
    assert entry["sha256"] != plain["artifacts"]["tflite_int8_full"]["sha256"]
    assert entry["graph"]["check"]["ok"]


@pytest.mark.parametrize("model_type,texts,why", [("mobilebert", TEXTS, "covers bert students, not mobilebert"),
                                                  ("bert", None, "no task texts")])
def test_quantization_aware_step_says_why_it_did_not_run(model_type, texts, why, tmp_path):
    from types import SimpleNamespace

    from converters.convert import _quantization_aware, _Run

    student = SimpleNamespace(model_type=model_type, tokenizer=None)
    model, facts = _quantization_aware(_Run(tmp_path, progress=False), object(), student, texts,
                                       [], 10, -40.0, 1, False)
    assert model is None and facts["steps"] == 0 and why in facts["skipped"]
