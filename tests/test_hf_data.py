"""The Hugging Face ``datasets`` source, fully offline.

A local copy shaped like the hub's ``nyu-mll/glue`` is built from the real GLUE files
(one ``save_to_disk`` folder per config) and read back through ``open_source("hf:DIR")``.
Nothing here may touch the network: the offline switches are set and sockets refuse to
connect.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")

# The local MNLI copy holds slices of the real dev set, so official-size warnings are expected
# there (test_size_mismatch_is_warned checks that they are given).
pytestmark = pytest.mark.filterwarnings("ignore:.*examples, but the official")

from gluebench.benchmark.sources import DirectorySource, Examples, open_source  # noqa: E402
from gluebench.benchmark.tasks import Task, get_task  # noqa: E402
from gluebench.errors import DataError  # noqa: E402

# The hub's ClassLabel names per config (ClassLabel id i is names[i]); None: float labels.
HUB_NAMES = {
    "CoLA": ["unacceptable", "acceptable"],
    "RTE": ["entailment", "not_entailment"],
    "WNLI": ["not_entailment", "entailment"],
    "MNLI": ["entailment", "neutral", "contradiction"],
    "STS-B": None,
}
# Copies whose ClassLabel order differs from ours (ids permuted to match): the trap.
PERMUTED_NAMES = {
    "MNLI": ["contradiction", "entailment", "neutral"],
    "RTE": ["not_entailment", "entailment"],
    "WNLI": ["entailment", "not_entailment"],
}
# MNLI has only dev_matched on disk: the other hub splits are cut from its rows.
MNLI_SLICES = {
    "train": slice(0, 1000),
    "validation_mismatched": slice(1000, 1500),
    "test_matched": slice(1500, 1800),
    "test_mismatched": slice(1800, 2000),
}
MNLI_HIDDEN = ("test_matched", "test_mismatched")


# ---- offline guard ------------------------------------------------------------------------

def _go_offline(mp: pytest.MonkeyPatch) -> None:
    mp.setenv("HF_DATASETS_OFFLINE", "1")
    mp.setenv("HF_HUB_OFFLINE", "1")
    # `datasets` and `huggingface_hub` read the switches at import: set their copies too.
    mp.setattr(datasets.config, "HF_DATASETS_OFFLINE", True, raising=False)
    mp.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    try:
        import huggingface_hub.constants as hub_constants

        mp.setattr(hub_constants, "HF_HUB_OFFLINE", True, raising=False)
    except ImportError:  # pragma: no cover
        pass
    real_connect = socket.socket.connect

    def refuse(sock, address, *args, **kwargs):
        if sock.family == getattr(socket, "AF_UNIX", None):
            return real_connect(sock, address, *args, **kwargs)
        raise AssertionError(f"test tried to reach the network: {address!r}")

    mp.setattr(socket.socket, "connect", refuse)
    mp.setattr(socket.socket, "connect_ex", refuse)
    mp.setattr(socket, "create_connection",
               lambda address, *a, **k: refuse(socket.socket(), address))


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    _go_offline(monkeypatch)


# ---- building hub-shaped copies -----------------------------------------------------------

def _features(task: Task, label_feature) -> datasets.Features:
    return datasets.Features({
        **{c: datasets.Value("string") for c in task.hf_fields},
        "label": label_feature,
        "idx": datasets.Value("int32"),
    })


def _label_feature(task: Task, names):
    if task.is_regression:
        return datasets.Value("float32")
    return datasets.ClassLabel(names=list(names))


def _hf_columns(task: Task, inputs: dict, rows: slice = slice(None)) -> dict[str, list]:
    """Our input fields under the hub's column names (``premise``, ``sentence1``, ...)."""
    pairs = zip(task.input_fields, task.hf_fields, strict=True)
    return {c: list(inputs[f][rows]) for f, c in pairs}


def to_hf(ex: Examples, names=None, *, hidden: bool = False, rows: slice = slice(None),
          label_feature=None) -> datasets.Dataset:
    """``Examples`` as a hub-shaped ``Dataset``; ``hidden``: labels -1 as in hub test splits."""
    task = ex.task
    names = names if names is not None else HUB_NAMES.get(task.name)
    n = len(ex.index[rows])
    columns = _hf_columns(task, ex.inputs, rows)
    if hidden:
        labels = [-1.0 if task.is_regression else -1] * n
    elif task.is_regression:
        labels = [float(v) for v in ex.labels[rows]]
    else:
        labels = [names.index(task.label_names[i]) for i in ex.labels[rows]]
    feature = label_feature if label_feature is not None else _label_feature(task, names)
    return datasets.Dataset.from_dict(
        {**columns, "label": labels, "idx": [int(i) for i in ex.index[rows]]},
        features=_features(task, feature),
    )


def _hub_copy(tsv: DirectorySource, task_name: str, names=None, **kw) -> datasets.DatasetDict:
    task = get_task(task_name)
    if task_name == "MNLI":
        dev = tsv.load(task, "dev")
        dd = {"validation_matched": to_hf(dev, names, **kw)}
        for split, rows in MNLI_SLICES.items():
            dd[split] = to_hf(dev, names, rows=rows, hidden=split in MNLI_HIDDEN, **kw)
        return datasets.DatasetDict(dd)
    dd = {"validation": to_hf(tsv.load(task, "dev"), names, **kw)}
    if tsv.has(task, "train") and task_name in ("RTE", "WNLI"):
        dd["train"] = to_hf(tsv.load(task, "train"), names, **kw)
    if tsv.has(task, "test"):
        dd["test"] = to_hf(tsv.load(task, "test"), names, hidden=True, **kw)
    return datasets.DatasetDict(dd)


@pytest.fixture(scope="module")
def tsv(glue_dir) -> DirectorySource:
    return DirectorySource(glue_dir)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory, tsv) -> Path:
    """A hub-shaped local copy: DIR/<config>/ for cola, rte, wnli, mnli, stsb."""
    root = tmp_path_factory.mktemp("hf_glue")
    with pytest.MonkeyPatch.context() as mp:
        _go_offline(mp)
        for name in HUB_NAMES:
            _hub_copy(tsv, name).save_to_disk(str(root / get_task(name).hf_config))
    return root


@pytest.fixture(scope="module")
def permuted_dir(tmp_path_factory, tsv) -> Path:
    """The same data with ClassLabel names in another order (ids permuted to match)."""
    root = tmp_path_factory.mktemp("hf_glue_permuted")
    with pytest.MonkeyPatch.context() as mp:
        _go_offline(mp)
        for name, names in PERMUTED_NAMES.items():
            _hub_copy(tsv, name, names).save_to_disk(str(root / get_task(name).hf_config))
    return root


def _assert_same(hf: Examples, ref: Examples) -> None:
    task = ref.task
    assert len(hf) == len(ref)
    assert np.array_equal(hf.index, ref.index)
    assert hf.inputs == ref.inputs
    if task.is_regression:
        assert hf.labels.dtype.kind == "f"
        np.testing.assert_allclose(hf.labels, ref.labels, rtol=1e-6, atol=1e-6)
    else:
        assert hf.labels is not None
        assert [task.label_names[i] for i in hf.labels] == \
            [task.label_names[i] for i in ref.labels]
        assert np.array_equal(hf.labels, ref.labels)


def _sliced(ex: Examples, rows: slice) -> Examples:
    return Examples(ex.task, ex.split, ex.source, ex.index[rows],
                    {f: v[rows] for f, v in ex.inputs.items()},
                    None if ex.labels is None else ex.labels[rows])


# ---- loading ------------------------------------------------------------------------------

@pytest.mark.parametrize("task_name, split", [
    ("CoLA", "dev"), ("RTE", "dev"), ("RTE", "train"), ("WNLI", "dev"), ("WNLI", "train"),
    ("MNLI", "dev"), ("STS-B", "dev"),
])
def test_loads_like_the_tsv_files(hf_dir, tsv, task_name, split):
    task = get_task(task_name)
    source = open_source(f"hf:{hf_dir}")
    assert source.has(task, split)
    _assert_same(source.load(task, split), tsv.load(task, split))


def test_size_mismatch_is_warned(hf_dir):
    from gluebench.errors import GlueBenchWarning

    with pytest.warns(GlueBenchWarning, match="official MNLI train set has 392702"):
        open_source(f"hf:{hf_dir}").load(get_task("MNLI"), "train")


def test_mnli_matched_and_mismatched_splits(hf_dir, tsv):
    task = get_task("MNLI")
    source = open_source(f"hf:{hf_dir}")
    for split in ("train", "dev", "dev_mismatched", "test", "test_mismatched"):
        assert source.has(task, split), split
    dev = tsv.load(task, "dev")
    _assert_same(source.load(task, "dev_mismatched"),
                 _sliced(dev, MNLI_SLICES["validation_mismatched"]))
    _assert_same(source.load(task, "train"), _sliced(dev, MNLI_SLICES["train"]))


@pytest.mark.parametrize("task_name", ["CoLA", "RTE", "WNLI"])
def test_hidden_test_labels_give_none(hf_dir, tsv, task_name):
    task = get_task(task_name)
    got = open_source(f"hf:{hf_dir}").load(task, "test")
    ref = tsv.load(task, "test")
    assert got.labels is None
    assert np.array_equal(got.index, ref.index)
    assert got.inputs == ref.inputs


@pytest.mark.parametrize("split", ["test", "test_mismatched"])
def test_hidden_mnli_test_labels_give_none(hf_dir, tsv, split):
    task = get_task("MNLI")
    got = open_source(f"hf:{hf_dir}").load(task, split)
    assert got.labels is None
    rows = MNLI_SLICES["test_matched" if split == "test" else "test_mismatched"]
    ref = _sliced(tsv.load(task, "dev"), rows)
    assert np.array_equal(got.index, ref.index)
    assert got.inputs == ref.inputs


def test_hidden_stsb_test_scores_give_none(hf_dir, tsv):
    """The hub's STS-B test split holds -1.0 scores: hidden, not a score of -1."""
    task = get_task("STS-B")
    got = open_source(f"hf:{hf_dir}").load(task, "test")
    ref = tsv.load(task, "test")
    assert np.array_equal(got.index, ref.index)
    assert got.inputs == ref.inputs
    assert got.labels is None, f"hidden STS-B test scores read as {got.labels[:5]}"


def test_missing_config_is_not_there(hf_dir):
    task = get_task("SST-2")  # not saved
    source = open_source(f"hf:{hf_dir}")
    assert not source.has(task, "dev")
    with pytest.raises(DataError):
        source.load(task, "dev")


# ---- the label-order trap -----------------------------------------------------------------

@pytest.mark.parametrize("task_name", list(PERMUTED_NAMES))
def test_permuted_class_label_names_keep_label_names(permuted_dir, tsv, task_name):
    task = get_task(task_name)
    ref = tsv.load(task, "dev")
    saved = datasets.load_from_disk(str(permuted_dir / task.hf_config))
    split = "validation_matched" if task_name == "MNLI" else "validation"
    raw = np.asarray(saved[split]["label"])
    assert saved[split].features["label"].names == PERMUTED_NAMES[task_name]
    assert not np.array_equal(raw, ref.labels)  # the trap is armed: raw ids differ from ours
    got = open_source(f"hf:{permuted_dir}").load(task, "dev")
    _assert_same(got, ref)


# ---- refused label columns ----------------------------------------------------------------

def _save_rte(tmp_path: Path, tsv: DirectorySource, label_feature, labels=None) -> Path:
    task = get_task("RTE")
    dev = tsv.load(task, "dev")
    ds = to_hf(dev, label_feature=label_feature) if labels is None else \
        datasets.Dataset.from_dict(
            {**_hf_columns(task, dev.inputs),
             "label": labels, "idx": dev.index.tolist()},
            features=_features(task, label_feature))
    root = tmp_path / "hf"
    datasets.DatasetDict({"validation": ds}).save_to_disk(str(root / "rte"))
    return root


@pytest.mark.parametrize("names", [["yes", "no"], ["entailment", "contradiction"],
                                   ["entailment", "not_entailment", "neutral"]])
def test_unknown_class_label_names_are_refused(tmp_path, tsv, names):
    root = _save_rte(tmp_path, tsv, datasets.ClassLabel(names=names))
    with pytest.raises(DataError):
        open_source(f"hf:{root}").load(get_task("RTE"), "dev")


def test_unknown_class_label_names_refused_by_cli(tmp_path, tsv, glue_dir, run_cli):
    root = _save_rte(tmp_path, tsv, datasets.ClassLabel(names=["yes", "no"]))
    preds = tmp_path / "preds"
    code, _, err = run_cli("baseline", "majority", "--data-dir", glue_dir, "--tasks", "RTE",
                           "-o", preds)
    assert code == 0, err
    code, out, err = run_cli("score", "--data-dir", f"hf:{root}", "--predictions", preds,
                             "--resamples", "50")
    assert code == 2
    assert err.startswith("error:") and "yes" in err


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_int_label_column_without_names_is_refused(tmp_path, tsv, dtype):
    ids = tsv.load(get_task("RTE"), "dev").labels.tolist()
    root = _save_rte(tmp_path, tsv, datasets.Value(dtype), labels=ids)
    with pytest.raises(DataError):
        open_source(f"hf:{root}").load(get_task("RTE"), "dev")


def test_string_label_column_is_refused_cleanly(tmp_path, tsv):
    task = get_task("RTE")
    names = [task.label_names[i] for i in tsv.load(task, "dev").labels]
    root = _save_rte(tmp_path, tsv, datasets.Value("string"), labels=names)
    with pytest.raises(DataError):
        open_source(f"hf:{root}").load(task, "dev")


# ---- scoring through the CLI --------------------------------------------------------------

def _flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flatten(v, f"{prefix}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj


def _same_numbers(a, b) -> None:
    fa, fb = dict(_flatten(a)), dict(_flatten(b))
    assert fa.keys() == fb.keys()
    for key, va in fa.items():
        vb = fb[key]
        if isinstance(va, float) and isinstance(vb, float):
            assert vb == pytest.approx(va, rel=1e-6, abs=1e-9), key
        else:
            assert va == vb, key


def _score(run_cli, data_dir, preds: Path, out: Path) -> dict:
    code, stdout, err = run_cli("score", "--data-dir", data_dir, "--predictions", preds,
                                "--resamples", "200", "--seed", "3", "--json", out)
    assert code == 0, err
    return json.loads(out.read_text())


def _score_both(run_cli, glue_dir, hf_copy, tmp_path, kind: str, tasks: str,
                seed: str = "0") -> tuple[dict, dict]:
    """One baseline's dev predictions scored against the TSV files and the HF copy."""
    preds = tmp_path / kind
    code, _, err = run_cli("baseline", kind, "--data-dir", glue_dir, "--tasks", tasks,
                           "-o", preds, "--seed", seed)
    assert code == 0, err
    return (_score(run_cli, glue_dir, preds, tmp_path / "tsv.json"),
            _score(run_cli, f"hf:{hf_copy}", preds, tmp_path / "hf.json"))


def test_score_rte_majority_same_as_tsv(hf_dir, glue_dir, tmp_path, run_cli):
    from_tsv, from_hf = _score_both(run_cli, glue_dir, hf_dir, tmp_path, "majority", "RTE")
    assert list(from_hf["tasks"]) == ["RTE"]
    assert from_hf["tasks"]["RTE"]["n"] == 277
    _same_numbers(from_hf["tasks"], from_tsv["tasks"])
    assert from_hf["partial_average"] == pytest.approx(from_tsv["partial_average"])


def test_score_random_dev_same_as_tsv(hf_dir, glue_dir, tmp_path, run_cli):
    from_tsv, from_hf = _score_both(run_cli, glue_dir, hf_dir, tmp_path, "random",
                                    "CoLA,STS-B,MNLI-m,RTE,WNLI", seed="5")
    assert sorted(from_hf["tasks"]) == sorted(["CoLA", "STS-B", "MNLI-m", "RTE", "WNLI"])
    _same_numbers(from_hf["tasks"], from_tsv["tasks"])


def test_permuted_copy_scores_the_same(permuted_dir, glue_dir, tmp_path, run_cli):
    from_tsv, from_hf = _score_both(run_cli, glue_dir, permuted_dir, tmp_path, "random",
                                    "MNLI-m,RTE,WNLI", seed="9")
    _same_numbers(from_hf["tasks"], from_tsv["tasks"])
