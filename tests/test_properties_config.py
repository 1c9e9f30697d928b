"""Property tests: any config file, any flag value -> a config or one UsageError line."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gluebench.errors import UsageError
from gluebench.train.config import FIELDS, TrainConfig, build_config

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8)
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _outcome(call) -> TrainConfig | None:
    try:
        config = call()
    except UsageError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 2000
        return None
    assert isinstance(config, TrainConfig)
    return config


@FAST
@given(raw=st.binary(max_size=200))
def test_any_bytes_as_a_toml_file(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("cfg") / "recipe.toml"
    path.write_bytes(raw)
    _outcome(lambda: build_config(path))


@FAST
@given(settings_=st.dictionaries(st.sampled_from(sorted(FIELDS)) | st.text(max_size=10),
                                 json_values, max_size=4))
@pytest.mark.slow
def test_any_json_settings(tmp_path_factory, settings_):
    path = tmp_path_factory.mktemp("cfg") / "recipe.json"
    path.write_text(json.dumps(settings_), encoding="utf-8")
    config = _outcome(lambda: build_config(path))
    if config is not None:   # accepted values have the field's own type and are in range
        for name, value in settings_.items():
            if isinstance(value, bool):
                assert FIELDS[name].type in (bool, "bool"), (name, value)


@FAST
@given(name=st.sampled_from(sorted(FIELDS)), text=st.text(max_size=20))
def test_any_flag_text(name, text):
    _outcome(lambda: build_config(**{name: text}))


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_a_value_with_a_line_break_is_still_one_error_line(name):
    """Hypothesis found `--report-to '0\\n0'` printing the bad name over two lines; every
    field's message must quote what it was given on one line."""
    for text in ("0\n0", "tensorboard\nx", "x\r\ny"):
        _outcome(lambda text=text: build_config(**{name: text}))
