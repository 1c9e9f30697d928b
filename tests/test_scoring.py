"""Scoring prediction folders: official numbers, index matching, GLUE score, AX, JSON."""

import json

import numpy as np
import pytest
from sklearn.metrics import matthews_corrcoef

from gluebench.benchmark.predictions import write_predictions
from gluebench.benchmark.scoring import glue_score, score_predictions
from gluebench.benchmark.sources import DirectorySource, load
from gluebench.benchmark.tasks import BENCHMARKS, TASKS
from gluebench.formats.textfiles import read_tsv

AVAILABLE = ["CoLA", "SST-2", "MRPC", "STS-B", "MNLI-m", "QNLI", "RTE", "WNLI", "AX"]


def write_gold(glue_dir, out, names=AVAILABLE, shuffle=False):
    """Write the dev gold labels as predictions (optionally rows shuffled)."""
    rng = np.random.default_rng(0)
    for name in names:
        b = BENCHMARKS[name]
        ex = load(b.task, b.dev, glue_dir)
        index = np.arange(len(ex))
        if shuffle:
            index = rng.permutation(index)
        write_predictions(out / b.submission_file, TASKS[b.task], index, ex.labels[index])
    return out


def test_perfect_predictions_score_100(glue_dir, tmp_path):
    results = score_predictions(DirectorySource(glue_dir), write_gold(glue_dir, tmp_path))
    for name in AVAILABLE:
        assert results["tasks"][name]["score"] == pytest.approx(100.0)
    assert results["glue_score"] is None  # QQP and MNLI-mm are missing here
    assert results["partial_average"] == pytest.approx(100.0)
    assert results["tasks_missing"] == ["QQP", "MNLI-mm"]


def test_rows_are_matched_by_index_not_position(glue_dir, tmp_path):
    src = DirectorySource(glue_dir)
    rng = np.random.default_rng(1)
    ex = load("MRPC", "dev", glue_dir)
    pred = np.where(rng.random(len(ex)) < 0.7, ex.labels, 1 - ex.labels)
    index = np.arange(len(ex))
    write_predictions(tmp_path / "a" / "MRPC.tsv", TASKS["MRPC"], index, pred)
    # Same predictions, rows written in a shuffled order.
    perm = rng.permutation(len(ex))
    path = tmp_path / "b" / "MRPC.tsv"
    path.parent.mkdir()
    path.write_text("index\tprediction\n" + "".join(f"{i}\t{pred[i]}\n" for i in perm))
    a = score_predictions(src, tmp_path / "a")["tasks"]["MRPC"]
    b = score_predictions(src, tmp_path / "b")["tasks"]["MRPC"]
    assert a["f1"] == b["f1"] and a["accuracy"] == b["accuracy"]
    assert a["accuracy"] == pytest.approx((pred == ex.labels).mean())


def test_majority_baseline_matches_a_hand_count(glue_dir, tmp_path, run_cli):
    assert run_cli("baseline", "majority", "--data-dir", glue_dir, "--tasks", "SST-2,RTE",
                   "-o", tmp_path)[0] == 0
    results = score_predictions(DirectorySource(glue_dir), tmp_path)
    for task in ("SST-2", "RTE"):
        _, rows = read_tsv(glue_dir / TASKS[task].files["train"].path)
        train = [r[-1] for _, r in rows]
        majority = max(set(train), key=train.count)
        dev = [r[-1] for _, r in read_tsv(glue_dir / TASKS[task].files["dev"].path)[1]]
        expected = dev.count(majority) / len(dev)
        assert results["tasks"][task]["accuracy"] == pytest.approx(expected)


def _fake(score_by_name):
    return {n: {"score": s} for n, s in score_by_name.items()}


def test_glue_score_is_the_official_unweighted_mean():
    scores = {"CoLA": 50, "SST-2": 90, "MRPC": 85, "STS-B": 88, "QQP": 80, "MNLI-m": 84,
              "MNLI-mm": 82, "QNLI": 90, "RTE": 66, "WNLI": 65, "AX": 30}
    out = glue_score(_fake(scores))
    mnli = (84 + 82) / 2
    expected = np.mean([50, 90, 85, 88, 80, mnli, 90, 66, 65])  # AX does not count
    assert out["glue_score"] == pytest.approx(expected)
    assert out["partial_average"] is None and out["tasks_missing"] == []


def test_missing_tasks_give_a_labelled_partial_average_never_a_glue_score():
    out = glue_score(_fake({"CoLA": 40, "RTE": 60, "MNLI-m": 80}))
    assert out["glue_score"] is None
    assert out["partial_average"] == pytest.approx(60)
    assert out["partial_average_tasks"] == ["CoLA", "MNLI", "RTE"]
    assert "MNLI-mm" in out["tasks_missing"] and "AX" in out["tasks_missing"]


def _ax_truth(glue_dir):
    """Categories counted straight from diagnostic-full.tsv, independently of gluebench."""
    columns, rows = read_tsv(glue_dir / "diagnostic" / "diagnostic-full.tsv")
    tags = {}
    for pos, (_, r) in enumerate(rows):
        for c in range(4):
            for t in filter(None, (x.strip() for x in r[c].split(";"))):
                tags.setdefault(t, set()).add(pos)
                tags.setdefault(columns[c], set()).add(pos)
    return tags


def test_ax_categories_on_the_real_diagnostic_set(glue_dir, tmp_path):
    ex = load("AX", "dev", glue_dir)
    rng = np.random.default_rng(2)
    pred = np.where(rng.random(len(ex)) < 0.6, ex.labels, rng.integers(0, 3, len(ex)))
    write_predictions(tmp_path / "AX.tsv", TASKS["AX"], np.arange(len(ex)), pred)
    ax = score_predictions(DirectorySource(glue_dir), tmp_path)["tasks"]["AX"]
    assert ax["r3"] == pytest.approx(matthews_corrcoef(ex.labels, pred))
    truth = _ax_truth(glue_dir)
    assert set(ax["categories"]) == set(truth)
    assert ax["categories"]["Negation"]["n"] == 82
    assert ax["categories"]["Logic"]["level"] == "coarse"
    assert ax["categories"]["Double negation"]["parent"] == "Logic"
    for name, members in truth.items():
        idx = sorted(members)
        assert ax["categories"][name]["n"] == len(idx)
        assert ax["categories"][name]["r3"] == pytest.approx(
            matthews_corrcoef(ex.labels[idx], pred[idx]), abs=1e-12)


def test_score_cli_writes_the_documented_json(glue_dir, tmp_path, run_cli):
    write_gold(glue_dir, tmp_path / "p", names=["CoLA", "MRPC", "STS-B", "AX"], shuffle=True)
    code, out, err = run_cli("score", "--data-dir", glue_dir, "--split", "dev", "--predictions",
                             tmp_path / "p", "--json", tmp_path / "r.json")
    assert code == 0, err
    assert "CoLA" in out and "partial average" in out and "Negation" in out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["schema_version"] == 1 and r["split"] == "dev" and r["glue_score"] is None
    cola = r["tasks"]["CoLA"]
    assert cola["mcc"] == pytest.approx(1.0) and cola["score"] == pytest.approx(100.0)
    assert cola["n"] == 1043 and len(cola["ci"]["mcc"]) == 2
    assert {"f1", "accuracy", "score", "n", "ci"} <= set(r["tasks"]["MRPC"])
    assert {"pearson", "spearman"} <= set(r["tasks"]["STS-B"])
    assert r["tasks"]["AX"]["categories"]["Negation"] == {**r["tasks"]["AX"]["categories"][
        "Negation"], "n": 82}
    assert r["partial_average"] == pytest.approx(100.0)
    assert set(r["tasks_missing"]) >= {"QQP", "MNLI-mm", "SST-2"}


def test_compare_cli_reports_difference_ci_and_p_value(glue_dir, tmp_path, run_cli):
    write_gold(glue_dir, tmp_path / "gold", names=["RTE", "STS-B"])
    run_cli("baseline", "random", "--data-dir", glue_dir, "--tasks", "RTE,STS-B",
            "-o", tmp_path / "rand")
    code, out, err = run_cli("compare", tmp_path / "gold", tmp_path / "rand", "--data-dir",
                             glue_dir, "--json", tmp_path / "c.json")
    assert code == 0, err
    assert "RTE" in out and "p-value" in out
    c = json.loads((tmp_path / "c.json").read_text())
    rte = c["tasks"]["RTE"]["score"]
    assert rte["diff"] == pytest.approx(rte["a"] - rte["b"]) and rte["diff"] > 30
    assert rte["p_value"] < 0.01 and rte["ci"][0] > 0


def test_score_tables_as_markdown(glue_dir, tmp_path, run_cli):
    write_gold(glue_dir, tmp_path / "p", names=["RTE", "MRPC"])
    code, _, err = run_cli("score", "--data-dir", glue_dir, "--predictions", tmp_path / "p",
                           "--markdown", tmp_path / "t.md")
    assert code == 0, err
    md = (tmp_path / "t.md").read_text().splitlines()
    header = next(line for line in md if line.startswith("| Model"))
    assert "RTE Acc" in header and "MRPC F1/Acc" in header
    row = md[md.index(header) + 2]
    assert [c.strip() for c in row.strip("|").split("|")][1:4] == ["100.0*", "100.0/100.0", "100.0"]
