"""Where the seed-aware statistics surface: `gluebench compare`, sweep selection, sweep and
study comparisons (the same entries, Holm-adjusted), and the report's bold."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as sps

from gluebench.benchmark.tasks import TASKS
from tests.seed_support import recipe_studies, summary, trial, write_outputs, write_sweep

SAMPLE = "sample"


def _gold(entry: str) -> tuple[np.ndarray, np.ndarray]:
    """(index, gold ids or scores) of the bundled sample's dev set, read without gluebench's
    readers."""
    from gluebench.benchmark.sources import SAMPLE_DIR  # where the bundled sample lives

    task = TASKS[entry]
    rows = (SAMPLE_DIR / task.name / "dev.tsv").read_text(encoding="utf-8").splitlines()
    head = rows[0].split("\t")
    label = "label" if entry == "RTE" else "score"
    cells = [r.split("\t") for r in rows[1:]]
    index = np.arange(len(cells))    # prediction files index dev rows by position
    if entry == "STS-B":
        return index, np.array([float(c[head.index(label)]) for c in cells])
    return index, np.array([task.labels.index(c[head.index(label)]) for c in cells])


def _predictions(path, entry: str, index: np.ndarray) -> np.ndarray:
    found = dict(line.split("\t") for line in path.read_text().splitlines()[1:])
    values = [found[str(i)] for i in index]
    return (np.array(values, dtype=float) if entry == "STS-B" else
            np.array([TASKS[entry].labels.index(v) for v in values]))


def _baselines(run_cli, root, kind: str, seeds, tasks="RTE,STS-B"):
    for s in seeds:
        code, _, err = run_cli("baseline", kind, "--data-dir", SAMPLE, "--tasks", tasks,
                               "-o", root / f"seed{s}", "--seed", s)
        assert code == 0, err
    return root


@pytest.fixture
def two_recipes(tmp_path, run_cli):
    a = _baselines(run_cli, tmp_path / "A", "random", (1, 2, 3))
    b = _baselines(run_cli, tmp_path / "B", "random", (11, 12, 13))
    return a, b


def _holm(p_values):
    # Imported here, so that on code without seed_stats each test fails on its own checks.
    from gluebench.benchmark.seed_stats import holm

    return holm(p_values)


def test_compare_takes_a_folder_of_per_seed_folders(two_recipes, tmp_path, run_cli):
    a, b = two_recipes
    code, out, err = run_cli("compare", a, b, "--data-dir", SAMPLE, "--json", tmp_path / "c.json")
    assert code == 0, err
    from gluebench.benchmark.seed_stats import seed_paired_test

    assert "p (Holm)" in out and "3/3" in out
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["seeds"] == {"a": ["seed1", "seed2", "seed3"],
                               "b": ["seed11", "seed12", "seed13"]}
    for entry, metric in (("RTE", None), ("STS-B", "corr")):
        index, gold = _gold(entry)
        file = "RTE.tsv" if entry == "RTE" else "STS-B.tsv"
        preds = {side: np.stack([_predictions(p / file, entry, index)
                                 for p in sorted((tmp_path / side).iterdir())])
                 for side in ("A", "B")}
        if metric is None:
            per_seed = {s: 100 * (p == gold).mean(axis=1) for s, p in preds.items()}
        else:
            per_seed = {s: np.array([50 * (sps.pearsonr(gold, x)[0] + sps.spearmanr(gold, x)[0])
                                     for x in p]) for s, p in preds.items()}
        got = result["tasks"][entry]
        assert got["test"] == "seed-aware" and got["n"] == len(gold)
        assert list(got["per_seed"]["a"].values()) == pytest.approx(per_seed["A"].tolist())
        assert got["score"]["diff"] == pytest.approx(per_seed["A"].mean() - per_seed["B"].mean())
        metrics = ("accuracy",) if entry == "RTE" else ("pearson", "spearman")
        direct = seed_paired_test(metrics, gold, preds["A"], preds["B"], name=entry)["score"]
        assert got["score"]["p_value"] == pytest.approx(direct.p_value)
        assert got["score"]["ci"] == pytest.approx(direct.ci)
    raw = [result["tasks"][e]["score"]["p_value"] for e in ("STS-B", "RTE")]
    assert [result["tasks"][e]["score"]["p_holm"] for e in ("STS-B", "RTE")] == \
        pytest.approx(_holm(raw))


def test_compare_with_one_seed_each_is_unchanged(two_recipes, tmp_path, run_cli):
    a, b = two_recipes
    run_cli("compare", a / "seed1", b / "seed11", "--data-dir", SAMPLE, "--json",
            tmp_path / "flat.json")
    single = tmp_path / "single"
    (single / "only").mkdir(parents=True)
    for f in (a / "seed1").iterdir():
        (single / "only" / f.name).write_bytes(f.read_bytes())
    code, _, err = run_cli("compare", single, b / "seed11", "--data-dir", SAMPLE, "--json",
                           tmp_path / "nested.json")
    assert code == 0, err
    flat, nested = (json.loads((tmp_path / n).read_text()) for n in ("flat.json", "nested.json"))
    assert "seeds" not in flat and set(flat["tasks"]["RTE"]) == {"accuracy", "score", "n"}
    assert flat["test"]["p_value"] == "paired permutation, two-sided"
    assert {**nested, "a": None} == {**flat, "a": None}


@pytest.mark.slow
def test_compare_takes_a_run_directory_with_all_its_seeds(tiny_run, tmp_path, run_cli):
    majority = _baselines(run_cli, tmp_path / "M", "majority", (1, 2), tasks="RTE,SST-2,STS-B")
    code, _, err = run_cli("compare", tiny_run, majority, "--data-dir", SAMPLE, "--json",
                           tmp_path / "c.json")
    assert code == 0, err
    result = json.loads((tmp_path / "c.json").read_text())
    run = json.loads((tiny_run / "results.json").read_text())
    assert result["seeds"]["a"] == ["1", "2"]
    for entry in ("SST-2", "RTE", "STS-B"):
        recorded = run["tasks"][entry]["seeds"]["values"]             # the run's own record
        assert result["tasks"][entry]["per_seed"]["a"] == pytest.approx(recorded)
        assert result["tasks"][entry]["score"]["a"] == pytest.approx(np.mean(list(
            recorded.values())))


def test_compare_mixes_several_seeds_with_one(two_recipes, tmp_path, run_cli):
    a, _ = two_recipes
    _baselines(run_cli, tmp_path / "M", "majority", (1,))
    code, _, err = run_cli("compare", a, tmp_path / "M" / "seed1", "--data-dir", SAMPLE,
                           "--json", tmp_path / "c.json")
    assert code == 0, err
    rte = json.loads((tmp_path / "c.json").read_text())["tasks"]["RTE"]
    assert rte["test"] == "seed-aware" and rte["seeds"] == {"a": ["seed1", "seed2", "seed3"],
                                                            "b": ["seed1"]}
    assert np.isfinite(rte["score"]["p_value"]) and rte["score"]["df"] >= 2


def test_compare_of_a_folder_without_predictions_is_one_line(tmp_path, run_cli):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    code, out, err = run_cli("compare", tmp_path / "empty", tmp_path / "other", "--data-dir",
                             SAMPLE)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert "one such folder per seed (A/<seed>/RTE.tsv), or a run directory" in err


# ---- sweeps: selection needs every seed; methods are tested on the same entries ---------

def test_a_configuration_with_a_failed_seed_cannot_win(tmp_path):
    from gluebench.sweep.select import select
    from gluebench.sweep.sweepdir import SweepDir

    trials, records = [], {}
    for lr, holdouts in ((1e-3, (90.0, 91.0, None)), (1e-4, (80.0, 81.0, 79.0))):
        for seed, holdout in zip((1, 2, 3), holdouts, strict=True):
            t = trial(f"k{lr}-{seed}", "RTE", "full", seed, {"learning_rate": lr})
            trials.append(t)
            records[t["key"]] = ({"status": "failed", "error": "diverged"} if holdout is None
                                 else {"status": "ok", "summary": summary({"RTE": 60.0},
                                                                          holdout)})
    best = select(SweepDir(write_sweep(tmp_path / "s", trials, records)))["best"]
    assert len(best) == 1 and best[0]["best"]["point"] == {"learning_rate": 1e-4}
    assert best[0]["best"]["seeds"] == [1, 2, 3]
    assert best[0]["n_configs"] == 2 and best[0]["n_eligible"] == 1


def _mnli_sweep(root, *, gap: float = 0.0, rng_seed: int = 0):
    """Two methods on MNLI (3 seeds each, one configuration): dev outputs for m, mm and AX."""
    trials, records = [], {}
    for method in ("full", "bitfit"):
        for seed in (1, 2, 3):
            t = trial(f"{method}-{seed}", "MNLI", method, seed, {"learning_rate": 1e-3})
            trials.append(t)
            records[t["key"]] = {"status": "ok", "summary": summary(
                {"MNLI-m": 60.0, "MNLI-mm": 60.0, "AX": 10.0}, 60.0)}
    for e, entry in enumerate(("MNLI-m", "MNLI-mm", "AX")):
        gold, pred = recipe_studies(1, gap=gap, n=150, rng_seed=rng_seed + e)
        for m, method in enumerate(("full", "bitfit")):   # 3 classes, the third unused
            for s, seed in enumerate((1, 2, 3)):
                write_outputs(root, f"{method}-{seed}", entry, gold[0], pred[0, m, s], 3)
    return write_sweep(root, trials, records)


@pytest.mark.slow
def test_a_sweeps_comparisons_of_one_recipe_with_itself_are_calibrated(tmp_path):
    """400 simulated studies as 400 models of one sweep: two methods, one recipe, 3 seeds."""
    from gluebench.sweep.select import compare_methods, select
    from gluebench.sweep.sweepdir import SweepDir

    studies = 400
    gold, pred = recipe_studies(studies, rng_seed=0)
    trials, records = [], {}
    for i in range(studies):
        for m, method in enumerate(("full", "bitfit")):
            for s, seed in enumerate((1, 2, 3)):
                t = trial(f"{i}-{method}-{seed}", "RTE", method, seed, {"lr": 1}, f"m{i}")
                trials.append(t)
                records[t["key"]] = {"status": "ok", "summary": summary({"RTE": 60.0}, 60.0)}
                write_outputs(tmp_path, t["key"], "RTE", gold[i], pred[i, m, s], 2)
    sweep = SweepDir(write_sweep(tmp_path, trials, records))
    rows = compare_methods(sweep, select(sweep), n_resamples=200)
    assert len(rows) == studies
    hits = sum(r["p_value"] < 0.05 for r in rows)      # raw p: one test per study
    assert sps.binomtest(hits, studies, 0.05).pvalue > 0.001, hits / studies


def test_sweep_methods_are_tested_on_every_glue_entry_and_holm_adjusted(tmp_path):
    from gluebench.sweep.select import compare_methods, select
    from gluebench.sweep.sweepdir import SweepDir

    sweep = SweepDir(_mnli_sweep(tmp_path / "s", gap=0.15))
    rows = compare_methods(sweep, select(sweep), n_resamples=200)
    assert [r["entry"] for r in rows] == ["MNLI-m", "MNLI-mm"]          # AX: a diagnostic
    assert all(r["seeds_a"] == r["seeds_b"] == [1, 2, 3] and r["n"] == 150 for r in rows)
    assert [r["p_holm"] for r in rows] == pytest.approx(_holm([r["p_value"] for r in rows]))


def _mnli_study(root):
    """A layer-drop-shaped study on MNLI: the full model (control) and one pruned variant."""
    from gluebench.studies.design import variant_id

    sweep = _mnli_sweep(root, gap=0.15, rng_seed=3)
    variants = [{"task": "MNLI", "name": "full", "role": "control", "compare_to": [],
                 "group": "full", "x": 6},
                {"task": "MNLI", "name": "drop-2", "role": "variant", "compare_to": ["full"],
                 "group": "top", "x": 4}]
    keys = {variant_id(variants[0]): {str(s): f"full-{s}" for s in (1, 2, 3)},
            variant_id(variants[1]): {str(s): f"bitfit-{s}" for s in (1, 2, 3)}}
    design = {"schema_version": 1, "kind": "study", "study": "layer-drop", "status": "planned",
              "tasks": ["MNLI"], "seeds": [1, 2, 3], "variants": variants, "keys": keys}
    (sweep / "study.json").write_text(json.dumps(design))
    return sweep


def test_studies_test_the_same_entries_as_sweeps(tmp_path):
    from gluebench.studies.analysis import analyse
    from gluebench.studies.design import StudyDir

    analysis = analyse(StudyDir(_mnli_study(tmp_path / "study")), n_resamples=200)
    tests = analysis["tests"]
    assert [t["entry"] for t in tests] == ["MNLI-m", "MNLI-mm"]
    from gluebench.sweep.select import compared_entries

    assert compared_entries("MNLI") == ["MNLI-m", "MNLI-mm"]
    assert all(t["variant"] == "drop-2" and t["control"] == "full" for t in tests)
    assert [t["p_holm"] for t in tests] == pytest.approx(_holm([t["p_value"] for t in tests]))
    drop = next(r for r in analysis["rows"] if r["name"] == "drop-2")
    assert set(drop["intervals"]) == {"MNLI-m", "MNLI-mm"} and drop["interval"]["seeds"] == 3


# ---- reports: bold means Holm-adjusted p < 0.05 -----------------------------------------

def _test_row(p: float, p_holm: float, **names) -> dict:
    return {"entry": "RTE", "seeds_a": [1, 2, 3], "seeds_b": [1, 2, 3], "seeds": 3, "n": 277,
            "score_a": 70.0, "score_b": 65.0, "diff": 5.0, "ci": [1.0, 9.0], "p_value": p,
            "p_holm": p_holm, **names}


@pytest.mark.parametrize("kind", ["study", "sweep"])
def test_reports_bold_only_what_survives_holm(kind):
    from gluebench.report.sections.study import tests_table
    from gluebench.report.sections.sweep import _comparison_table

    names = ({"variant": "v", "control": "c"} if kind == "study" else
             {"method_a": "full", "method_b": "bitfit"})
    rows = [_test_row(0.01, 0.2, **names), _test_row(0.0004, 0.003, **names)]
    block = (tests_table({"tests": rows}) if kind == "study" else
             _comparison_table(rows, dev_selected=False))
    bold = [[cell.text for cell in row if cell.bold] for row in block.rows]
    assert bold == [[], ["+5.0", "0.003"]]
    assert block.headers[-2:] == ["p", "p (Holm)"]
    assert "Holm-adjusted" in block.caption and "bold: Holm-adjusted p < 0.05" in block.caption
    assert [row[-2].text for row in block.rows] == ["0.010", "<0.001"]
