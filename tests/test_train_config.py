"""The fine-tuning config: defaults, config files, flags, and the default recipe's choices."""

from __future__ import annotations

import json

import pytest

from gluebench.errors import UsageError
from gluebench.train.config import TrainConfig, build_config, read_config_file


def test_defaults_are_visible_and_typed():
    config = build_config()
    assert config == TrainConfig()
    assert config.batch_size == 32 and config.max_seq_length == 128
    assert config.seeds == (1,) and config.splits == ("dev", "test")


def test_file_then_flags(tmp_path):
    toml = tmp_path / "recipe.toml"
    toml.write_text('learning-rate = 3e-5\nepochs = 2\nseeds = [1, 2, 3]\nmethod = "lora"\n')
    config = build_config(toml, epochs="4", batch_size=None)
    assert config.learning_rate == 3e-5          # from the file
    assert config.epochs == 4.0                   # the flag wins over the file
    assert config.seeds == (1, 2, 3) and config.method == "lora"
    js = tmp_path / "recipe.json"
    js.write_text(json.dumps({"batch_size": 16, "length_grouping": False}))
    assert build_config(js).batch_size == 16
    assert build_config(js).length_grouping is False


def test_flag_strings_are_coerced():
    config = build_config(seeds="1,2,3", splits="dev", pad_to_max_length="true",
                          max_train_examples="512")
    assert config.seeds == (1, 2, 3) and config.splits == ("dev",)
    assert config.pad_to_max_length is True and config.max_train_examples == 512


@pytest.mark.parametrize("content, expected", [
    ('learning_rat = 1e-4\n', "unknown key 'learning_rat'. Did you mean 'learning_rate'?"),
    ('method = "adapter"\n', "bad value 'adapter' for 'method': expected one of: full, lora"),
    ('batch_size = "many"\n', "bad value 'many' for 'batch_size'"),
    ('epochs = [\n', "not valid TOML"),
    ('batch_size = 0\n', "'batch_size' must be a whole number from 1"),
    ('seeds = [1, 1]\n', "'seeds' repeats a seed"),
    ('splits = ["train"]\n', "unknown split 'train'"),
])
def test_bad_config_file_says_what_is_wrong(tmp_path, content, expected):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(UsageError, match=None) as info:
        build_config(path)
    assert expected in str(info.value)
    if "unknown key" in expected or "bad value" in expected or "not valid" in expected:
        assert str(path) in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UsageError, match="config file not found"):
        read_config_file(tmp_path / "nope.toml")


def test_default_learning_rate_scales_with_width_and_method():
    full = TrainConfig()
    assert full.resolved_learning_rate(384) == pytest.approx(1e-4)
    assert full.resolved_learning_rate(768) == pytest.approx(1e-4 / 2 ** 1.5)
    assert full.resolved_learning_rate(1024) < full.resolved_learning_rate(768)
    assert TrainConfig(method="lora").resolved_learning_rate(384) == 5e-4
    assert TrainConfig(learning_rate=2e-5).resolved_learning_rate(384) == 2e-5


def test_default_epochs_by_training_set_size():
    config = TrainConfig()
    assert config.resolved_epochs(2490) == 10       # RTE
    assert config.resolved_epochs(8551) == 5        # CoLA
    assert config.resolved_epochs(67349) == 3       # SST-2
    assert TrainConfig(epochs=1.5).resolved_epochs(2490) == 1.5


def test_cli_config_with_unknown_key_is_one_line(tmp_path, run_cli):
    path = tmp_path / "bad.toml"
    path.write_text("warmup = 0.1\n")
    code, out, err = run_cli("finetune", "--config", path, "--data-dir", "sample",
                             "--tasks", "RTE", "-o", tmp_path / "run")
    assert code == 2
    assert err.count("\n") == 1 and "unknown key 'warmup'" in err
    assert "Did you mean 'warmup_ratio'?" in err
