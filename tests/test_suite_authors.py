"""Benchmarks their authors define: CLUE and KLEJ end to end on the real dev files.

``score --suite examples/suites/clue.toml`` and ``.../klej.toml`` through
``gluebench.cli.main`` (marked ``real_data``: ../shared/data/clue and ../shared/data/klej).
Gold, flipped and random systems are written in each benchmark's own submission format
and every accuracy is compared with scikit-learn on an independent reading of the gold
files, to 1e-12:

* CLUE: one ``<task>_predict.json`` per task, ``{"id": i, "label": "..."}`` lines where
  ``i`` is the row's 0-based position in the gold file — lines shuffled, so rows are
  matched by that id, never by line order. CLUEWSC2020's own ``idx`` counts from 1, so a
  file keyed by ``idx`` instead of the position is refused. OCNLI's ``-`` rows (no gold
  majority) are not scored: not in ``n`` (reported as ``n_unscored``), and what is
  predicted for them, or whether anything is, changes nothing.
* KLEJ: ``test_pred_<task>.tsv``, a ``target`` header and one label per line in the gold
  file's order (as the KLEJ baselines write it); the gold TSV is read with quoting off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from gluebench.cli import main
from tests.conftest import suite_data_roots

REPO = Path(__file__).resolve().parents[1]
CLUE = REPO / "examples/suites/clue.toml"
KLEJ = REPO / "examples/suites/klej.toml"
CLUE_TASKS = {"OCNLI": ("ocnli/dev.json", "ocnli_50k_predict.json",
                        ["entailment", "neutral", "contradiction"]),
              "CLUEWSC2020": ("cluewsc2020/dev.json", "cluewsc10_predict.json",
                              ["false", "true"])}
POLEMO = ["__label__meta_minus_m", "__label__meta_plus_m", "__label__meta_zero",
          "__label__meta_amb"]
KLEJ_TASKS = {"NKJP-NER": ("nkjp-ner", ["geogName", "noEntity", "orgName", "persName",
                                        "placeName", "time"]),
              "PolEmo2.0-IN": ("polemo2.0-in", POLEMO),
              "PolEmo2.0-OUT": ("polemo2.0-out", POLEMO)}
SIZES = {"OCNLI": 3000, "CLUEWSC2020": 304, "NKJP-NER": 1941, "PolEmo2.0-IN": 723,
         "PolEmo2.0-OUT": 494}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def data() -> Path:
    candidates = suite_data_roots()
    real = next((Path(c) for c in filter(None, candidates)
                 if (Path(c) / "clue/ocnli/dev.json").is_file()
                 and (Path(c) / "klej/nkjp-ner/dev.tsv").is_file()), None)
    if real is None:
        message = "real data (../shared/data/clue, ../shared/data/klej) not found"
        if os.environ.get("GLUEBENCH_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"{message}, and GLUEBENCH_REQUIRE_REAL_DATA=1", pytrace=False)
        pytest.skip(message)
    return real


# ---- independent readings of the gold files ---------------------------------------------

def clue_gold(data: Path, task: str) -> list[str]:
    """Gold label tokens in file order ("-" kept): one JSON object per line."""
    path = data / "clue" / CLUE_TASKS[task][0]
    return [json.loads(line)["label"] for line in path.read_text("utf-8").splitlines()]


def klej_gold(data: Path, task: str) -> list[str]:
    """Gold labels in file order: every line after the header is one row, split on tabs
    only (a quote character is text)."""
    lines = (data / "klej" / KLEJ_TASKS[task][0] / "dev.tsv").read_text("utf-8").splitlines()
    assert lines[0].split("\t") == ["sentence", "target"]
    return [line.split("\t")[1] for line in lines[1:]]


def system(kind: str, gold: list[str], labels: list[str], rng) -> list[str]:
    """Predicted tokens: gold (a "-" row gets a random label), 7 flipped, or random."""
    pred = [g if g in labels else labels[rng.integers(len(labels))] for g in gold]
    if kind == "flips":
        for at in rng.choice(len(pred), size=7, replace=False):
            pred[at] = labels[(labels.index(pred[at]) + 1) % len(labels)]
    elif kind == "random":
        pred = [labels[i] for i in rng.integers(0, len(labels), size=len(gold))]
    return pred


def expected_accuracy(gold: list[str], pred: list[str]) -> tuple[float, int]:
    keep = [i for i, g in enumerate(gold) if g != "-"]
    return accuracy_score([gold[i] for i in keep], [pred[i] for i in keep]), len(keep)


def write_clue(folder: Path, data: Path, kind: str, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    preds = {}
    for task, (_, file, labels) in CLUE_TASKS.items():
        preds[task] = system(kind, clue_gold(data, task), labels, rng)
        lines = [json.dumps({"id": i, "label": p}, ensure_ascii=False)
                 for i, p in enumerate(preds[task])]
        rng.shuffle(lines)   # ids are positions in the gold file; line order means nothing
        (folder / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return preds


def write_klej(folder: Path, data: Path, kind: str, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    preds = {}
    for task, (name, labels) in KLEJ_TASKS.items():
        preds[task] = system(kind, klej_gold(data, task), labels, rng)
        (folder / f"test_pred_{name}.tsv").write_text("target\n" + "\n".join(preds[task])
                                                      + "\n", encoding="utf-8")
    return preds


def score(capsys, tmp_path, suite: Path, data: Path, pred: Path) -> dict:
    out_json = tmp_path / "scores.json"
    code, out, err = run(capsys, "score", "--suite", suite, "--data-dir", data, "--split",
                         "dev", "--predictions", pred, "--resamples", 200, "--json", out_json)
    assert code == 0, err
    results = json.loads(out_json.read_text(encoding="utf-8"))
    unscored = "not scored (no gold label), not in n: OCNLI 50"
    assert (unscored in " ".join(out.split())) == ("OCNLI" in results["tasks"]), out
    return results


def check_against_sklearn(results: dict, gold: dict, preds: dict, aggregate: str) -> None:
    for task, pred in preds.items():
        got = results["tasks"][task]
        accuracy, n = expected_accuracy(gold[task], pred)
        assert got["accuracy"] == pytest.approx(accuracy, abs=1e-12), task
        assert got["n"] == n and got.get("n_unscored", 0) == SIZES[task] - n, task
        lo, hi = got["ci"]["accuracy"]
        assert lo - 1e-12 <= got["accuracy"] <= hi + 1e-12
        assert got["score"] == pytest.approx(100 * accuracy, abs=1e-10)
    assert results[aggregate] == pytest.approx(
        np.mean([results["tasks"][t]["score"] for t in preds]), abs=1e-10)
    assert results["tasks_missing"] == [] and results["partial_average"] is None


# ---- CLUE --------------------------------------------------------------------------------

@pytest.mark.real_data
@pytest.mark.parametrize("kind,seed", [("gold", 0), ("flips", 1), ("random", 7)])
def test_score_clue_matches_scikit_learn(capsys, tmp_path, data, kind, seed):
    preds = write_clue(tmp_path / "pred", data, kind, seed)
    results = score(capsys, tmp_path, CLUE, data, tmp_path / "pred")
    gold = {t: clue_gold(data, t) for t in CLUE_TASKS}
    assert results["suite"]["name"] == "clue" and len(results["suite"]["sha256"]) == 64
    check_against_sklearn(results, gold, preds, "clue_score")
    # OCNLI's 50 "-" rows are not scored: 2950 of 3000
    assert results["tasks"]["OCNLI"]["n"] == 2950
    assert results["tasks"]["OCNLI"]["n_unscored"] == 50


@pytest.mark.real_data
def test_ocnli_unscored_rows_change_nothing(capsys, tmp_path, data):
    """What a system says on a "-" row, or whether it says anything, is not scored."""
    write_clue(tmp_path / "a", data, "flips", 3)
    base = score(capsys, tmp_path, CLUE, data, tmp_path / "a")["tasks"]["OCNLI"]
    gold = clue_gold(data, "OCNLI")
    path = tmp_path / "a" / CLUE_TASKS["OCNLI"][1]
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    for r in rows:   # every "-" row's prediction changed
        if gold[r["id"]] == "-":
            r["label"] = "contradiction" if r["label"] != "contradiction" else "neutral"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    changed = score(capsys, tmp_path, CLUE, data, tmp_path / "a")["tasks"]["OCNLI"]
    kept = [r for r in rows if gold[r["id"]] != "-"]   # the "-" rows left out entirely
    path.write_text("\n".join(json.dumps(r) for r in kept) + "\n", encoding="utf-8")
    omitted = score(capsys, tmp_path, CLUE, data, tmp_path / "a")["tasks"]["OCNLI"]
    for other in (changed, omitted):
        assert other["accuracy"] == base["accuracy"] and other["ci"] == base["ci"]
        assert other["n"] == base["n"] == 2950


@pytest.mark.real_data
def test_clue_ids_are_positions_not_the_files_own_idx(capsys, tmp_path, data):
    """CLUEWSC2020's dev idx counts from 1: a file keyed by idx is off by one and refused."""
    assert json.loads((data / "clue/cluewsc2020/dev.json").open("rb").readline())["idx"] == 1
    write_clue(tmp_path / "pred", data, "gold", 0)
    path = tmp_path / "pred" / CLUE_TASKS["CLUEWSC2020"][1]
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    path.write_text("\n".join(json.dumps({"id": r["id"] + 1, "label": r["label"]})
                              for r in rows) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "score", "--suite", CLUE, "--data-dir", data, "--split",
                         "dev", "--predictions", tmp_path / "pred")
    assert code == 2 and out == ""
    assert "unknown id 304" in err and "0-based positions" in err and "0 to 303" in err


# ---- KLEJ --------------------------------------------------------------------------------

@pytest.mark.real_data
@pytest.mark.parametrize("kind,seed", [("gold", 0), ("flips", 1), ("random", 7)])
def test_score_klej_matches_scikit_learn(capsys, tmp_path, data, kind, seed):
    preds = write_klej(tmp_path / "pred", data, kind, seed)
    results = score(capsys, tmp_path, KLEJ, data, tmp_path / "pred")
    gold = {t: klej_gold(data, t) for t in KLEJ_TASKS}
    assert results["suite"]["name"] == "klej"
    check_against_sklearn(results, gold, preds, "klej_score")
    # quoting off: every line is a row, although the files hold '"' characters
    for task, (name, _) in KLEJ_TASKS.items():
        text = (data / "klej" / name / "dev.tsv").read_text("utf-8")
        assert '"' in text and results["tasks"][task]["n"] == len(text.splitlines()) - 1


# ---- bad prediction files: one error line, exit 2, nothing written -----------------------

def _rewrite(path: Path, change) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


CLUE_BAD = {
    "missing": (lambda ls: [x for x in ls if json.loads(x)["id"] != 5], "no prediction for id"),
    "duplicate": (lambda ls: ls + ls[:1], "duplicate id"),
    "beyond": (lambda ls: ls + ['{"id": 304, "label": "true"}'], "unknown id 304"),
    "label": (lambda ls: ['{"id": 0, "label": "yes"}'] + [x for x in ls
                                                          if json.loads(x)["id"] != 0],
              "expected one of: false, true"),
    "not json": (lambda ls: ["{id: 0}"] + ls[1:], "line 1"),
    "no id": (lambda ls: ['{"label": "true"}'] + ls[1:], "line 1"),
}
KLEJ_BAD = {
    "header": (lambda ls: ["index\tprediction"] + [f"{i}\t{x}" for i, x in enumerate(ls[1:])],
               "expected 'target'"),
    "short": (lambda ls: ls[:-1], "493 prediction lines for the 494 rows"),
    "long": (lambda ls: ls + ls[-1:], "line 496 is beyond the 494 rows"),
    "label": (lambda ls: ls[:3] + ["positive"] + ls[4:], "line 4"),
    "tab": (lambda ls: ls[:2] + [ls[2] + "\tx"] + ls[3:], "line 3"),
}


@pytest.mark.real_data
@pytest.mark.parametrize("suite,how", [("clue", h) for h in CLUE_BAD]
                         + [("klej", h) for h in KLEJ_BAD])
def test_bad_prediction_file_is_one_error_line(capsys, tmp_path, data, suite, how):
    if suite == "clue":
        write_clue(tmp_path / "pred", data, "gold", 0)
        file, (change, expected) = CLUE_TASKS["CLUEWSC2020"][1], CLUE_BAD[how]
    else:
        write_klej(tmp_path / "pred", data, "gold", 0)
        file, (change, expected) = "test_pred_polemo2.0-out.tsv", KLEJ_BAD[how]
    _rewrite(tmp_path / "pred" / file, change)
    out_json = tmp_path / "scores.json"
    code, out, err = run(capsys, "score", "--suite", CLUE if suite == "clue" else KLEJ,
                         "--data-dir", data, "--split", "dev", "--predictions",
                         tmp_path / "pred", "--json", out_json)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err
    assert file in lines[0] and expected in lines[0], lines[0]
    assert not out_json.exists()


@pytest.mark.parametrize("suite", [CLUE, KLEJ])
def test_suite_check_passes_the_examples(capsys, suite):
    code, out, err = run(capsys, "suite", "check", suite)
    assert code == 0 and "OK" in out, err


# ---- the submission's id modes in a suite file -------------------------------------------

KLEJ_TEXT = KLEJ.read_text(encoding="utf-8")
BAD_IDS = {
    "order with an id column": (KLEJ_TEXT.replace('header = ["target"]',
                                                  'header = ["index", "target"]'),
                                "submission.header"),
    "order for jsonl": (KLEJ_TEXT.replace('format = "tsv"\nfile', 'format = "jsonl"\nfile')
                        .replace('header = ["target"]\n', ''), "submission.ids"),
    "order for test only": (KLEJ_TEXT.replace('\nids = "order"', '\nids = "order"\n'
                                              'dev_ids = "position"'), "submission.ids"),
    "unknown mode": (KLEJ_TEXT.replace('\nids = "order"', '\nids = "line"'), "submission.ids"),
}


@pytest.mark.parametrize("case", list(BAD_IDS))
def test_suite_check_refuses_a_bad_id_mode_naming_the_key(capsys, tmp_path, case):
    text, key = BAD_IDS[case]
    assert text != KLEJ_TEXT
    path = tmp_path / "klej.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "suite", "check", path)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert lines[0].startswith("error:") and key in lines[0], lines[0]
