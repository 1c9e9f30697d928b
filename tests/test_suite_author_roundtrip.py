"""What gluebench writes for a user's suite, it reads back: `baseline --split dev` then `score`
on the real CLUE and KLEJ dev files (CLUE's dev ids are row positions, KLEJ's files are one label
per line in file order), checked against scikit-learn on an independent reading of the gold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite_loader import load_suite
from gluebench.cli import main
from tests.conftest import real_data_missing, suite_data_roots

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def data() -> Path:
    for root in suite_data_roots():
        if (root / "clue/cluewsc2020/dev.json").is_file() and \
                (root / "klej/nkjp-ner/dev.tsv").is_file():
            return root
    real_data_missing("CLUE and KLEJ data not found")


@pytest.mark.parametrize("name", ["clue", "klej"])
@pytest.mark.parametrize("kind", ["majority", "random"])
def test_a_dev_baseline_is_scored_as_written(data, tmp_path, capsys, name, kind):
    path = REPO / "examples" / "suites" / f"{name}.toml"
    out = tmp_path / "pred"
    assert main(["baseline", "--suite", str(path), "--data-dir", str(data), "--split", "dev",
                 kind, "-o", str(out)]) == 0
    assert main(["score", "--suite", str(path), "--data-dir", str(data), "--predictions",
                 str(out), "--json", str(tmp_path / "s.json")]) == 0, capsys.readouterr().err
    scored = json.loads((tmp_path / "s.json").read_text())["tasks"]
    suite = load_suite(path)
    for entry in suite.entries.values():
        gold = load_split(suite, suite.task(entry.task), entry.dev, data)
        written = (out / entry.submission_file).read_text(encoding="utf-8").splitlines()
        if suite.submission.format == "tsv":   # KLEJ: a header, then one label per row
            labels = written[1:]
        else:                                  # CLUE: {"id": position, "label": ...} lines
            rows = sorted((json.loads(line) for line in written), key=lambda r: r["id"])
            assert [r["id"] for r in rows] == list(range(len(gold)))
            labels = [r["label"] for r in rows]
        keep = gold.scored()
        truth = [gold.task.labels[i] for i in gold.labels[keep]]
        mine = [label for label, k in zip(labels, keep, strict=True) if k]
        assert scored[entry.name]["accuracy"] == pytest.approx(accuracy_score(truth, mine),
                                                               abs=1e-12)
