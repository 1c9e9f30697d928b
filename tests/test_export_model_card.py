"""``gluebench export model-card``: the card's model-index, parsed back with huggingface_hub,
holds every dev result of the run's results.json with the hub dataset, config, split and metric
id a reader expects; an existing card keeps its prose; --push offline is one line and writes
nothing."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import ModelCard, metadata_load
from huggingface_hub.repocard_data import model_index_to_eval_results

from gluebench.benchmark.sources import open_source
from gluebench.formats.atomic import read_json
from gluebench.recipes import finetune
from gluebench.train.config import build_config

# Written out by hand from the hub's dataset cards: entry -> (config, split, {ours: hub id}).
GLUE = {
    "CoLA": ("cola", "validation", {"mcc": "matthews_correlation"}),
    "SST-2": ("sst2", "validation", {"accuracy": "accuracy"}),
    "MRPC": ("mrpc", "validation", {"f1": "f1", "accuracy": "accuracy"}),
    "STS-B": ("stsb", "validation", {"pearson": "pearsonr", "spearman": "spearmanr"}),
    "QQP": ("qqp", "validation", {"f1": "f1", "accuracy": "accuracy"}),
    "MNLI-m": ("mnli", "validation_matched", {"accuracy": "accuracy"}),
    "MNLI-mm": ("mnli", "validation_mismatched", {"accuracy": "accuracy"}),
    "QNLI": ("qnli", "validation", {"accuracy": "accuracy"}),
    "RTE": ("rte", "validation", {"accuracy": "accuracy"}),
    "WNLI": ("wnli", "validation", {"accuracy": "accuracy"}),
    "AX": ("ax", None, {"r3": "matthews_correlation"}),   # the hub's AX has hidden labels
}
SUPERGLUE = {
    "BoolQ": ("boolq", "validation", {"accuracy": "accuracy"}),
    "CB": ("cb", "validation", {"accuracy": "accuracy", "f1_macro": "f1"}),
    "MultiRC": ("multirc", "validation", {"f1a": "f1", "em_question": "exact_match"}),
    "WSC": ("wsc.fixed", "validation", {"accuracy": "accuracy"}),
    "AX-b": ("axb", "test", {"mcc": "matthews_correlation"}),
}


def _results_doc(folder, suite: str, entries: dict) -> dict:
    """A hand-made results.json (no checksum, as `read_results` accepts): distinct values."""
    tasks, value = {}, 0.101
    for entry, (_, _, metrics) in entries.items():
        tasks[entry] = {}
        for metric in metrics:
            tasks[entry][metric], value = value, value + 0.0173
    doc = {"schema_version": 1, "split": "dev", "kind": "finetune", "model": "org/my-model",
           "suite": {"name": suite, "sha256": "0" * 64}, "tasks": tasks}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(doc))
    return doc


def _check_card(path, results: dict, expected: dict, hub: str) -> None:
    name, evals = model_index_to_eval_results(metadata_load(path)["model-index"])
    assert name == ModelCard.load(path).data.model_name
    found = {(e.dataset_config, e.dataset_split, e.metric_type, e.metric_name): e.metric_value
             for e in evals}
    want = {}
    for entry, scores in results["tasks"].items():
        config, split, metrics = expected[entry]
        for ours, value in scores.items():
            if ours in metrics:
                want[(config, split, metrics[ours], f"{entry} {ours}")] = value
    assert found == want
    assert {e.dataset_type for e in evals} == {hub}


def test_glue_card_lists_every_result(run_cli, tmp_path):
    results = _results_doc(tmp_path / "run", "glue", GLUE)
    code, _, err = run_cli("export", "model-card", tmp_path / "run", "-o", tmp_path / "README.md")
    assert code == 0, err
    _check_card(tmp_path / "README.md", results, GLUE, "nyu-mll/glue")
    assert ModelCard.load(tmp_path / "README.md").data.model_name == "my-model"


def test_superglue_card_names_super_glue(run_cli, tmp_path):
    results = _results_doc(tmp_path / "run", "superglue", SUPERGLUE)
    code, _, err = run_cli("export", "model-card", tmp_path / "run", "-o", tmp_path / "README.md")
    assert code == 0, err
    _check_card(tmp_path / "README.md", results, SUPERGLUE, "aps/super_glue")


def test_update_keeps_prose_and_metadata_and_replaces_results(run_cli, tmp_path):
    results = _results_doc(tmp_path / "run", "glue", {"RTE": GLUE["RTE"]})
    card = tmp_path / "README.md"
    card.write_text("---\nlicense: mit\ntags:\n- mine\nmodel-index:\n- name: old\n  results:\n"
                    "  - task:\n      type: text-classification\n    dataset:\n      name: X\n"
                    "      type: x/y\n    metrics:\n    - type: accuracy\n      value: 0.99\n"
                    "---\n\n# Mine\n\nWhat I wrote about my model.\n")
    code, _, err = run_cli("export", "model-card", tmp_path / "run", "-o", card,
                           "--model-name", "mine")
    assert code == 0, err
    loaded = ModelCard.load(card)
    assert loaded.text.strip() == "# Mine\n\nWhat I wrote about my model."
    assert loaded.data.license == "mit" and loaded.data.tags == ["mine"]
    _check_card(card, results, GLUE, "nyu-mll/glue")     # the stale 0.99 is gone


def test_real_run_card_matches_its_results(tiny_model, run_cli, tmp_path):
    run = tmp_path / "run"
    config = build_config(model=str(tiny_model), epochs=1, learning_rate=1e-3, batch_size=16,
                          max_seq_length=64, splits="dev", max_eval_examples=40)
    finetune(open_source("sample"), config, run, "RTE,STS-B", progress=False, n_resamples=20)
    code, _, err = run_cli("export", "model-card", run, "-o", tmp_path / "README.md")
    assert code == 0, err
    results = read_json(run / "results.json")
    _check_card(tmp_path / "README.md", results, GLUE, "nyu-mll/glue")
    _, evals = model_index_to_eval_results(metadata_load(tmp_path / "README.md")["model-index"])
    assert all(e.dataset_args == {"n": 40, "of": 100} for e in evals)   # a dev subsample


def test_push_offline_is_one_line_and_writes_nothing(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _results_doc(tmp_path / "run", "glue", {"RTE": GLUE["RTE"]})
    card = tmp_path / "README.md"
    card.write_text("# before\n")
    code, out, err = run_cli("export", "model-card", tmp_path / "run", "-o", card,
                             "--push", "someone/model")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: could not push")
    assert "Traceback" not in err and card.read_text() == "# before\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "run"]


@pytest.mark.parametrize("args", [[], ["-o", "README.md"]])
def test_bad_input_is_one_line(run_cli, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("export", "model-card", tmp_path, *args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error:")
    assert not (tmp_path / "README.md").exists()
