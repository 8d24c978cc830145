import pytest

from pipeline.config import RunConfig, load_config
from pipeline.errors import BertEdgeError


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_configs_validate():
    for name in ("configs/demo.yaml", "configs/sst2.yaml"):
        cfg = load_config(name)
        assert isinstance(cfg, RunConfig)
    assert load_config("configs/sst2.yaml").teacher.model == "minilm"


def test_unknown_key_names_closest(tmp_path):
    p = write(tmp_path, "teacher:\n  finetune:\n    epoch: 2\n")
    with pytest.raises(BertEdgeError, match=r"unknown config key 'teacher.finetune.epoch' \(did you mean 'teacher.finetune.epochs'\?\)"):
        load_config(p)


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(BertEdgeError, match=r"unknown config key 'outptu_dir' \(did you mean 'output_dir'\?\)"):
        load_config(write(tmp_path, "outptu_dir: x\n"))


def test_wrong_type_names_path(tmp_path):
    with pytest.raises(BertEdgeError, match=r"'convert.max_seq_length' must be a number"):
        load_config(write(tmp_path, "convert:\n  max_seq_length: long\n"))
    with pytest.raises(BertEdgeError, match=r"'teacher.trust_remote_code' must be true or false"):
        load_config(write(tmp_path, "teacher:\n  trust_remote_code: 3\n"))
    with pytest.raises(BertEdgeError, match=r"'teacher' must be a mapping"):
        load_config(write(tmp_path, "teacher: minilm\n"))


def test_out_of_range_names_path(tmp_path):
    with pytest.raises(BertEdgeError, match=r"'parity.min_agreement' must be <= 1"):
        load_config(write(tmp_path, "parity:\n  min_agreement: 1.5\n"))
    with pytest.raises(BertEdgeError, match=r"'teacher.finetune.learning_rate' must be > 0"):
        load_config(write(tmp_path, "teacher:\n  finetune:\n    learning_rate: 0\n"))
    with pytest.raises(BertEdgeError, match=r"'convert.max_seq_length' must be an integer"):
        load_config(write(tmp_path, "convert:\n  max_seq_length: 12.5\n"))


def test_scientific_notation_string_is_a_number(tmp_path):
    cfg = load_config(write(tmp_path, "teacher:\n  finetune:\n    learning_rate: 5e-5\n"))
    assert cfg.teacher.finetune.learning_rate == pytest.approx(5e-5)


def test_overrides_win_and_are_validated(tmp_path):
    p = write(tmp_path, "output_dir: a\nteacher:\n  finetune:\n    epochs: 2\n")
    cfg = load_config(p, ["output_dir=b", "teacher.finetune.epochs=0.5"])
    assert cfg.output_dir == "b" and cfg.teacher.finetune.epochs == 0.5
    with pytest.raises(BertEdgeError, match="unknown config key 'teacher.finetun'"):
        load_config(p, ["teacher.finetun.epochs=1"])
    with pytest.raises(BertEdgeError, match="must look like key.path=value"):
        load_config(p, ["output_dir"])


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(BertEdgeError, match=r"c.yaml:2: invalid YAML"):
        load_config(write(tmp_path, "a: 1\n  b: [\n"))
    with pytest.raises(BertEdgeError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(BertEdgeError, match="top level"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_cli_unknown_key_is_one_line(cli, tmp_path):
    p = write(tmp_path, "teacher:\n  modle: x\n")
    code, out, err = cli("finetune-teacher", "--config", p)
    assert code == 2
    assert err.strip() == ("error: unknown config key 'teacher.modle' (did you mean 'teacher.model'?); "
                           "valid keys here: model, finetuned, trust_remote_code, finetune")
    assert "Traceback" not in err


# -- renamed keys: `distill.stages` is now `distill.phases` ("stage" means a chain stage) ---------

def test_renamed_distill_stages_still_loads_with_one_warning(tmp_path, capsys):
    cfg = load_config(write(tmp_path, "distill:\n  stages: [task-intermediate, task-prediction]\n"))
    assert cfg.distill.phases == ["task-intermediate", "task-prediction"]
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [
        "warning: config key 'distill.stages' was renamed to 'distill.phases'; please rename it in your config"]
    load_config(write(tmp_path, "distill:\n  phases: [task-prediction]\n"))
    assert capsys.readouterr().err == ""  # the new name: no warning


def test_renamed_key_and_its_new_name_together_is_an_error(tmp_path, cli):
    p = write(tmp_path, "distill:\n  stages: [general]\n  phases: [task-prediction]\n")
    with pytest.raises(BertEdgeError, match=r"'distill.stages' was renamed to 'distill.phases' and both are set"):
        load_config(p)
    code, _, err = cli("distill", "--config", p, "--out", tmp_path / "s", "--no-progress")
    assert code == 2 and err.startswith("error: ") and "\n" not in err.strip() and "keep only 'distill.phases'" in err


def test_distill_stages_flag_is_the_old_name_of_phases(tmp_path, cli):
    # the value reaches distill.phases (its check names it) after one warning line
    code, _, err = cli("distill", "--stages", "general,task-predict", "--out", tmp_path / "s", "--no-progress")
    warning, error = err.strip().splitlines()
    assert code == 2 and warning == "warning: --stages was renamed to --phases; please use --phases"
    assert error.startswith("error: distill.phases: unknown phase 'task-predict' (did you mean 'task-prediction'?)")
    code, _, err = cli("distill", "--stages", "general", "--phases", "general", "--out", tmp_path / "s",
                       "--no-progress")
    assert code == 2 and err.strip() == "error: --stages was renamed to --phases and both are given: keep only --phases"
    assert not (tmp_path / "s").exists()
