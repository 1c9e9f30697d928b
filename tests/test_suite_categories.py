"""AX-b's Matthews correlation per linguistic category (``suite_categories``), checked against
scikit-learn on the real AX-b file with the categories read straight from its JSON lines."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import matthews_corrcoef

from gluebench.benchmark.suite_loader import load_suite
from gluebench.benchmark.suite_scoring import load_gold, score_entry
from gluebench.cli import main
from tests.conftest import superglue_val_copy

COARSE = ("lexical-semantics", "predicate-argument-structure", "logic", "knowledge")


@pytest.fixture(scope="module")
def axb(tmp_path_factory):
    _, root = superglue_val_copy(tmp_path_factory)
    suite = load_suite("superglue")
    entry = suite.entry("AX-b")
    rows = [json.loads(line) for line in
            (root / "superglue/AX-b/AX-b.jsonl").read_text(encoding="utf-8").splitlines()]
    return entry, load_gold(suite, entry, "dev", root), rows


def oracle_masks(rows: list[dict]) -> dict[str, np.ndarray]:
    """Coarse: any tag in the row's key; fine: the tag among its ';'-separated tags."""
    masks = {}
    for coarse in COARSE:
        tags = [{t.strip() for t in (r.get(coarse) or "").split(";") if t.strip()} for r in rows]
        masks[coarse] = np.array([bool(t) for t in tags])
        for tag in set().union(*tags):
            masks[tag] = np.array([tag in t for t in tags])
    return masks


@pytest.mark.real_data
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_axb_categories_match_scikit_learn_per_category(axb, seed):
    entry, gold, rows = axb
    gold_ids = np.array([0 if r["label"] == "entailment" else 1 for r in rows])
    # a system that is right 70% of the time, so categories have real signal
    rng = np.random.default_rng(seed)
    pred = np.where(rng.random(len(rows)) < 0.7, gold_ids, 1 - gold_ids)
    result = score_entry(entry, gold, pred, n_resamples=200, seed=seed, categories=True)
    assert "categories" not in score_entry(entry, gold, pred, n_resamples=10)  # opt-in
    cats = result["categories"]
    masks = oracle_masks(rows)
    assert set(cats) == set(masks)
    assert len([c for c in cats.values() if c["level"] == "coarse"]) == 4
    for name, mask in masks.items():
        assert cats[name]["n"] == int(mask.sum()), name
        expected = matthews_corrcoef(gold_ids[mask], pred[mask])
        assert cats[name]["mcc"] == pytest.approx(expected, abs=1e-12), name
        lo, hi = cats[name]["ci"]
        assert lo <= hi
    fine = {n: c for n, c in cats.items() if c["level"] == "fine"}
    assert all(c["parent"] in COARSE for c in fine.values())
    assert "Negation" in fine and fine["Negation"]["parent"] == "logic"


@pytest.mark.real_data
def test_score_categories_flag_puts_them_in_the_json(axb, tmp_path):
    entry, gold, rows = axb
    pred = tmp_path / "pred"
    pred.mkdir()
    pred.joinpath("AX-b.jsonl").write_text("".join(
        json.dumps({"idx": r["idx"], "label": "not_entailment"}) + "\n" for r in rows))
    data = gold.source.rsplit("/superglue/", 1)[0]
    out = tmp_path / "s.json"
    assert main(["score", "--suite", "superglue", "--data-dir", data, "--predictions",
                 str(pred), "--categories", "--resamples", "50", "--json", str(out)]) == 0
    doc = json.loads(out.read_text("utf-8"))
    cats = doc["tasks"]["AX-b"]["categories"]
    assert cats["logic"]["mcc"] == 0.0  # one class predicted: scikit-learn's defined 0
    assert json.loads(json.dumps(doc)) == doc  # plain JSON
