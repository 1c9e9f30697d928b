"""Sweeps and studies on a suite (issue 21 item 1): ``--suite`` on ``sweep`` and ``study``,
one adapter for every task lookup (``runs.suite_view``), and selection and comparisons that
read the suite's metrics on its resampling unit (MultiRC: paragraphs), on the real FewGLUE /
SuperGLUE files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from gluebench.benchmark.grouped_seed_stats import (
    grouped_seed_interval,
    grouped_seed_paired_test,
)
from gluebench.benchmark.grouped_stats import grouped_bootstrap_ci, paired_score_replicates
from gluebench.benchmark.metric_registry import Items
from gluebench.benchmark.seed_stats import seed_paired_test
from gluebench.benchmark.sources import sample_source
from gluebench.benchmark.stats import rng_for
from gluebench.benchmark.suite_scoring import load_gold
from gluebench.benchmark.tasks import BENCHMARKS, TASKS
from gluebench.console.score_tables import sweep_best
from gluebench.errors import UsageError
from gluebench.runs.recording import tasks_to_run
from gluebench.runs.rundir import entries_of
from gluebench.runs.suite_units import save_outputs, subsample
from gluebench.runs.suite_view import glue_fingerprint, suite_view
from gluebench.sweep.select import compare_methods, select
from gluebench.sweep.spec import read_spec
from gluebench.sweep.sweepdir import SweepDir
from gluebench.sweep.trials import expand, make_trial
from gluebench.train.config import build_config
from tests.conftest import real_data_missing, suite_data_roots

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def data_root() -> Path:
    for root in suite_data_roots():
        if (root / "fewglue" / "RTE" / "train.jsonl").is_file() and \
                (root / "superglue" / "MultiRC" / "val.jsonl").is_file():
            return root
    real_data_missing("FewGLUE and SuperGLUE data not found")


# ---- the adapter ----------------------------------------------------------------------------

def test_glue_view_answers_what_benchmark_tasks_answers():
    view = suite_view()
    assert view.is_glue and view.name == "glue"
    for task in TASKS.values():
        if task.name == "AX":
            continue
        assert view.entries(task.name) == entries_of(task)
        assert view.compared_entries(task.name) == \
            [e for e in entries_of(task) if BENCHMARKS[e].glue_group]
        assert view.train_size(task.name) == task.files["train"].size
        assert view.fingerprints(sample_source(), "sample", task.name) == \
            glue_fingerprint(sample_source(), task)
    for name, b in BENCHMARKS.items():
        assert view.metrics(name) == tuple(b.metrics)
        assert view.in_aggregate(name) == bool(b.glue_group)
        assert view.resample(name) == "example"
    assert view.task_names(["AX", "rte"]) == [t.name for t in tasks_to_run("AX,rte")]


def test_fewglue_view_reads_the_suite(data_root):
    view = suite_view("fewglue")
    assert not view.is_glue
    assert view.task_names(["AX-b", "CB"]) == ["RTE", "CB"]     # an entry brings its model
    assert view.entries("RTE") == ["RTE", "AX-b", "AX-g"]
    assert view.compared_entries("RTE") == ["RTE"]              # diagnostics beside the score
    assert view.metrics("MultiRC") == ("f1a", "em_question")
    assert view.resample("MultiRC") == "paragraph"
    assert view.train_size("RTE") == 32
    prints = view.fingerprints(None, str(data_root), "RTE")
    assert set(prints) == {"train", "dev32", "dev:RTE", "dev:AX-b", "dev:AX-g"}
    assert prints != view.fingerprints(None, str(data_root), "CB")
    summary = {"entries": {"RTE": {"score": 60.0}, "AX-b": {"score": 10.0}}}
    assert view.task_score(summary) == 60.0                    # AX-b is not RTE's score


def test_a_suite_trial_key_follows_the_rows_it_reads(tmp_path, data_root):
    """Editing one training row changes the train fingerprint (and the trial's key); the dev
    tables' fingerprints, read from the same files, stay."""
    import shutil

    for rel in ("fewglue/RTE/train.jsonl", "fewglue/RTE/dev32.jsonl", "superglue/RTE/val.jsonl",
                "superglue/AX-b/AX-b.jsonl", "superglue/AX-g/AX-g.jsonl"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_root / rel, tmp_path / rel)
    view = suite_view("fewglue")
    before = view.fingerprints(None, str(tmp_path), "RTE")
    assert before == view.fingerprints(None, str(data_root), "RTE")
    train = tmp_path / "fewglue/RTE/train.jsonl"
    lines = train.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[3])
    row["hypothesis"] += " Indeed."
    train.write_text("\n".join([*lines[:3], json.dumps(row), *lines[4:]]) + "\n",
                     encoding="utf-8")
    after = view.fingerprints(None, str(tmp_path), "RTE")
    assert after["train"] != before["train"]
    assert {k: v for k, v in after.items() if k != "train"} == \
        {k: v for k, v in before.items() if k != "train"}
    config = build_config(seeds=(1,)).to_dict()
    keys = [make_trial("RTE", None, "full", 1, {}, config, p, view=view).key
            for p in (before, after)]
    assert keys[0] != keys[1]


# ---- spec and CLI ---------------------------------------------------------------------------

def _spec(path: Path, tasks, extra: str = "") -> Path:
    path.write_text(f"""{extra}
tasks = {json.dumps(tasks)}
seeds = [1]
[grid]
learning_rate = [1e-4, 1e-3]
[fixed]
max_train_examples = 32
epochs = 1
""", encoding="utf-8")
    return path


def test_spec_suite_key_and_flag(tmp_path, data_root):
    spec = read_spec(_spec(tmp_path / "s.toml", ["AX-b"], 'suite = "fewglue"'))
    assert spec.suite == "fewglue" and spec.tasks == ["RTE"]
    assert spec.to_dict()["suite"] == "fewglue"
    glue = read_spec(_spec(tmp_path / "g.toml", ["RTE"]))
    assert glue.suite == "glue" and "suite" not in glue.to_dict()
    flagged = read_spec(tmp_path / "g.toml", suite="fewglue")
    trials = expand(flagged, sample_source(), str(data_root))
    assert len(trials) == 2 and all(t.suite == "fewglue" for t in trials)
    assert all("suite" not in t.to_json() for t in expand(glue, sample_source(), "sample"))
    glue_keys = {t.key for t in expand(glue, sample_source(), "sample")}
    assert glue_keys.isdisjoint(t.key for t in trials)          # the suite is in the key


def test_cli_plan_on_fewglue(tmp_path, data_root, run_cli):
    spec = _spec(tmp_path / "s.toml", ["RTE", "CB"])
    code, out, err = run_cli("sweep", str(spec), "--suite", "fewglue", "--plan",
                             "--data-dir", str(data_root))
    assert code == 0, err
    assert "FewGLUE" in out and "4 trial(s)" in out and "CB" in out


@pytest.mark.parametrize("suite, tasks, expected", [
    ("nosuch", ["RTE"], "nosuch"),
    ("fewglue", ["MRPC"], "MRPC"),
])
def test_cli_bad_suite_or_task_is_one_line(tmp_path, data_root, run_cli, suite, tasks, expected):
    spec = _spec(tmp_path / "s.toml", tasks)
    code, out, err = run_cli("sweep", str(spec), "--suite", suite, "--plan",
                             "--data-dir", str(data_root))
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error:") and expected in line


# ---- the statistics on the resampling unit --------------------------------------------------

def _multirc(data_root, n=400):
    view = suite_view("fewglue")
    table = load_gold(view.suite, view.suite.entry("MultiRC"), "dev", data_root)
    return view, subsample(table, n, 0, unit="paragraph", name="MultiRC")


def _noisy(gold: np.ndarray, flip: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(len(gold)) < flip, 1 - gold, gold).astype(np.int64)


def test_one_seed_interval_is_the_cluster_bootstrap(data_root):
    _, table = _multirc(data_root)
    items = table.items(_noisy(table.labels, 0.3, 1))
    got = grouped_seed_interval(("f1a", "em_question"), [items], resample="paragraph",
                                n_resamples=500, name="MultiRC")
    want = grouped_bootstrap_ci(("f1a", "em_question"), items, resample="paragraph",
                                n_resamples=500, name="MultiRC")
    assert got["score"]["ci"] == pytest.approx(want["score"], abs=1e-12)


def _by_paragraph(table, flip: float, seed: int) -> np.ndarray:
    """A system that misreads whole passages: every option of a flipped paragraph wrong."""
    paragraphs = table.groups["paragraph"]
    bad = np.random.default_rng(seed).random(paragraphs.max() + 1) < flip
    return np.where(bad[paragraphs], 1 - table.labels, table.labels).astype(np.int64)


def test_seed_test_variance_is_the_paragraph_bootstrap(data_root):
    """One seed a side: the variance of the difference is the paired bootstrap's over
    paragraphs (grouped_stats, another draw); with errors that come in whole passages,
    resampling questions as if independent would make it far too small."""
    _, table = _multirc(data_root, 1500)
    a, b = table.items(_noisy(table.labels, 0.1, 1)), table.items(_by_paragraph(table, 0.3, 2))
    names = ("f1a", "em_question")
    test = grouped_seed_paired_test(names, [a], [b], resample="paragraph", n_resamples=4000,
                                    name="MultiRC")["score"]
    reps = paired_score_replicates(names, a, b, resample="paragraph", n_resamples=4000,
                                   rng=rng_for(7, "other"))
    assert test.se == pytest.approx(np.std(reps, ddof=1), rel=0.08)
    by_question = grouped_seed_paired_test(names, [a], [b], resample="question",
                                           n_resamples=4000, name="MultiRC")["score"]
    assert test.se > 2 * by_question.se


def test_flat_entries_agree_with_seed_stats(data_root):
    view = suite_view("fewglue")
    table = load_gold(view.suite, view.suite.entry("RTE"), "dev", data_root)
    preds_a = np.stack([_noisy(table.labels, 0.3, s) for s in (1, 2, 3)])
    preds_b = np.stack([_noisy(table.labels, 0.4, s) for s in (4, 5)])
    mine = grouped_seed_paired_test(("accuracy",), [table.items(p) for p in preds_a],
                                    [table.items(p) for p in preds_b], n_resamples=4000,
                                    name="RTE")["score"]
    flat = seed_paired_test(("accuracy",), table.labels, preds_a, preds_b, n_resamples=4000,
                            name="RTE")["score"]
    assert mine.diff == pytest.approx(flat.diff, abs=1e-12)
    assert mine.se == pytest.approx(flat.se, rel=0.08)


# ---- selection and comparison on a FewGLUE sweep directory ----------------------------------

def _suite_sweep(tmp_path, data_root, *, select_on="dev", rates=(1e-4,), dev32=None):
    """A sweep directory on FewGLUE MultiRC: 2 methods x ``rates`` x 2 seeds, dev outputs of
    two noisy systems on real val paragraphs, as a trial of a suite fine-tuning run writes
    them (``dev32``: each learning rate's dev32 score)."""
    view, table = _multirc(data_root)
    sweep = SweepDir(tmp_path / "sweep")
    trials, flips = [], {"full": 0.2, "bitfit": 0.35}
    for method in flips:
        for rate in rates:
            for seed in (1, 2):
                config = build_config(method=method, seeds=(seed,), splits=("dev",),
                                      learning_rate=rate).to_dict()
                trials.append(make_trial("MultiRC", None, method, seed,
                                         {"learning_rate": rate}, config, {"train": "x"},
                                         view=view))
    spec = {"path": "t", "suite": "fewglue", "models": [None], "tasks": ["MultiRC"],
            "methods": list(flips), "seeds": [1, 2], "grid": {"learning_rate": list(rates)},
            "random": {}, "fixed": {}}
    sweep.write_plan({"spec": spec,
                      "suite": view.reference(), "select_on": select_on,
                      "data": str(data_root), "data_source": str(data_root),
                      "trials": [t.to_json() for t in trials]})
    for t in trials:
        # The larger learning rate's system is noisier on dev.
        flip = flips[t.method] + 0.1 * rates.index(t.point["learning_rate"])
        pred = _noisy(table.labels, flip, t.seed)
        save_outputs(sweep.trial_dir(t.key) / "outputs" / "MultiRC.npz", table,
                     np.eye(2)[pred])
        selection = {} if dev32 is None else {"selection": {
            "split": "dev32", "score": dev32[t.point["learning_rate"]]}}
        sweep.write_record({"key": t.key, "status": "ok", "trial_seconds": 1.0, "summary": {
            "entries": {"MultiRC": {"score": _oracle_score(table, pred), "collapsed": False}},
            "holdout": None, "train": {"seconds": 1.0, "examples": 32, "steps": 2},
            "parameters": {"total": 1}, **selection}})
    return sweep, table, flips


def _oracle_score(table, pred) -> float:
    """MultiRC's score by hand: sklearn's F1 over answer options, and the share of
    questions whose every option is right, x100."""
    gold = table.labels
    questions = table.groups["question"]
    right = pred == gold
    em = np.mean([right[questions == q].all() for q in np.unique(questions)])
    return 100 * (f1_score(gold, pred) + em) / 2


def test_selection_and_comparison_read_the_suite(tmp_path, data_root):
    sweep, table, flips = _suite_sweep(tmp_path, data_root)
    selection = select(sweep)
    (best_full,) = [b for b in selection["best"] if b["method"] == "full"]
    expected = np.mean([_oracle_score(table, _noisy(table.labels, flips["full"], s))
                        for s in (1, 2)])
    assert best_full["best"]["dev_mean"] == pytest.approx(expected, abs=1e-9)
    (row,) = compare_methods(sweep, selection, n_resamples=2000)
    assert row["entry"] == "MultiRC" and row["resample"] == "paragraph"
    assert row["score_a"] == pytest.approx(expected, abs=1e-9)
    worse = np.mean([_oracle_score(table, _noisy(table.labels, flips["bitfit"], s))
                     for s in (1, 2)])
    assert row["diff"] == pytest.approx(expected - worse, abs=1e-9)
    assert row["p_holm"] == pytest.approx(row["p_value"])      # one test: Holm leaves it
    # The same test, from items built here with the table's paragraphs.
    items = {m: [table.items(_noisy(table.labels, f, s)) for s in (1, 2)]
             for m, f in flips.items()}
    direct = grouped_seed_paired_test(("f1a", "em_question"), items["full"], items["bitfit"],
                                      resample="paragraph", n_resamples=2000,
                                      name="MultiRC")["score"]
    assert row["ci"] == pytest.approx(direct.ci, abs=1e-9)
    assert row["p_value"] == pytest.approx(direct.p_value, abs=1e-12)


def test_sweep_planned_on_a_changed_suite_is_refused(tmp_path, data_root):
    sweep, _, _ = _suite_sweep(tmp_path, data_root)
    plan = sweep.plan()
    plan["suite"]["sha256"] = "0" * 64
    sweep.write_plan({k: v for k, v in plan.items() if k not in ("schema_version", "kind")})
    with pytest.raises(Exception, match="has changed since"):
        select(sweep)


def test_items_carry_paragraphs(data_root):
    """The groups the comparison reads are the table's, by id, whatever the row order."""
    view, table = _multirc(data_root, 200)
    order = np.random.default_rng(0).permutation(len(table))
    groups = view.groups("MultiRC", str(data_root), table.ids[order])
    assert np.array_equal(groups["paragraph"], table.groups["paragraph"][order])
    assert isinstance(Items(table.labels, table.labels, 2, groups), Items)


def test_fewglue_selects_on_dev32(tmp_path, data_root):
    """FewGLUE's protocol: the configuration is chosen on dev32, never on the reported dev
    (here the better dev32 score belongs to the configuration that is worse on dev)."""
    sweep, _, _ = _suite_sweep(tmp_path, data_root, select_on="dev32", rates=(1e-4, 1e-3),
                               dev32={1e-4: 40.0, 1e-3: 70.0})
    selection = select(sweep)
    assert "dev32" in selection["label"]
    assert "dev32" in [col.header for col in sweep_best(selection).columns]
    for best in selection["best"]:
        assert best["best"]["point"] == {"learning_rate": 1e-3}
        assert best["best"]["selection_mean"] == 70.0
    on_dev = _suite_sweep(tmp_path / "dev", data_root, select_on="dev", rates=(1e-4, 1e-3),
                          dev32={1e-4: 40.0, 1e-3: 70.0})[0]
    assert all(b["best"]["point"] == {"learning_rate": 1e-4} for b in select(on_dev)["best"])


def test_the_report_of_a_fewglue_sweep(tmp_path, data_root, run_cli):
    sweep, _, _ = _suite_sweep(tmp_path, data_root, select_on="dev32", rates=(1e-4, 1e-3),
                               dev32={1e-4: 40.0, 1e-3: 70.0})
    code, _, err = run_cli("report", str(sweep.root), "-o", str(tmp_path / "r.md"),
                           "--resamples", "200")
    assert code == 0, err
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "Dev32" in text and "selected on dev32" in text and "Holdout" not in text
    assert "MultiRC: paragraphs" in text


def test_spec_selection_split_per_suite(tmp_path):
    few = _spec(tmp_path / "f.toml", ["RTE"], 'suite = "fewglue"')
    assert read_spec(few).select_on == "dev32"                 # FewGLUE's protocol
    assert read_spec(few, select_on="dev").select_on == "dev"
    assert read_spec(few, suite="superglue").select_on == "dev"   # SuperGLUE has no dev32
    with pytest.raises(UsageError, match="holds nothing out of train"):
        read_spec(few, select_on="train-holdout")
    with pytest.raises(UsageError, match="needs a suite with dev32"):
        read_spec(_spec(tmp_path / "g.toml", ["RTE"]), select_on="dev32")
    with pytest.raises(UsageError, match="no dev32 file"):
        read_spec(few, suite="superglue", select_on="dev32")


# ---- end to end: trials fine-tuned on FewGLUE (finetune --suite's engine) -------------------

TINY = ["--epochs", "2", "--batch-size", "16", "--max-seq-length", "64",
        "--max-eval-examples", "48"]


@pytest.mark.slow
def test_tiny_sweep_on_fewglue_rte(tmp_path, data_root, tiny_model, run_cli):
    spec = tmp_path / "s.toml"
    spec.write_text(f"""suite = "fewglue"
models = [{json.dumps(str(tiny_model))}]
tasks = ["RTE"]
seeds = [1]
[grid]
learning_rate = [1e-4, 1e-3]
[fixed]
epochs = 2
batch_size = 16
max_seq_length = 64
max_eval_examples = 48
""", encoding="utf-8")
    code, out, err = run_cli("sweep", str(spec), "--data-dir", str(data_root), "-o",
                             str(tmp_path / "sw"), "--resamples", "50")
    assert code == 0, err
    sweep = SweepDir(tmp_path / "sw")
    assert sweep.plan()["suite"]["name"] == "fewglue" and sweep.plan()["select_on"] == "dev32"
    records = sweep.records()
    assert len(records) == 2 and all(r["status"] == "ok" for r in records.values())
    for r in records.values():
        assert set(r["summary"]["entries"]) == {"RTE", "AX-b", "AX-g"}
        assert r["summary"]["selection"]["split"] == "dev32"
    for key in records:
        results = json.loads((sweep.trial_dir(key) / "results.json").read_text())
        assert results["suite"]["name"] == "fewglue" and "fewglue_score" in results
    (best,) = select(sweep)["best"]
    assert best["n_eligible"] == 2 and "dev32" in select(sweep)["label"]


@pytest.mark.slow
def test_a_layer_drop_study_runs_on_a_suite(tmp_path, data_root, tiny_model, run_cli):
    """Layer dropping is a model transform: fine-tuning on a suite runs it (the dropped
    variant's checkpoint has one layer fewer), and the study names the suite."""
    out = tmp_path / "ld"
    code, _, err = run_cli("study", "layer-drop", "--suite", "fewglue", "--model",
                           str(tiny_model), "--tasks", "RTE", "--drop", "1", "--data-dir",
                           str(data_root), "-o", str(out), "--seeds", "1", *TINY)
    assert code == 0, err
    layers = {}
    for results in out.glob("trials/*/results.json"):
        doc = json.loads(results.read_text())
        assert doc["suite"]["name"] == "fewglue"
        dropped = len(doc["config"].get("drop_layers") or [])
        layers[dropped] = doc["training"]["RTE"]["layers"]
    assert layers == {0: 2, 1: 1}   # the tiny model has 2 layers; the variant drops one


def test_data_diets_and_distillation_on_a_suite_are_refused_before_anything_is_written(
        tmp_path, data_root, tiny_model, run_cli):
    """They change the training examples or the loss, which suite fine-tuning does not
    support: one line, nothing written."""
    out = tmp_path / "dd"
    code, _, err = run_cli("study", "data-diet", "--suite", "fewglue", "--model",
                           str(tiny_model), "--tasks", "RTE", "--data-dir", str(data_root),
                           "-o", str(out), *TINY)
    assert code == 2 and err.strip().splitlines()[-1].startswith("error:"), err
    assert "data-diet" in err and not out.exists()


def test_a_suite_study_directory_is_analysed_on_the_suite(tmp_path, data_root):
    """``analyse`` on a study planned on FewGLUE (as the study commands will write it): each
    variant's seed-aware interval and test on MultiRC's paragraphs."""
    from gluebench.studies.analysis import analyse
    from gluebench.studies.design import StudyDir

    sweep, table, flips = _suite_sweep(tmp_path, data_root)
    study = StudyDir(sweep.root)
    keys = {m: {str(t.seed): t.key for t in sweep.trials() if t.method == m} for m in flips}
    variant = {"settings": {}, "x": 1.0, "facts": {}, "task": "MultiRC"}
    study.design_path.write_text(json.dumps({
        "kind": "study", "study": "layer-drop", "status": "planned", "suite": "fewglue",
        "tasks": ["MultiRC"], "seeds": [1, 2], "facts": {"layers": 2},
        "variants": [{**variant, "name": "full", "role": "control", "group": "full",
                      "compare_to": []},
                     {**variant, "name": "top-1", "role": "variant", "group": "top",
                      "compare_to": ["full"]}],
        "keys": {"MultiRC/full": keys["full"], "MultiRC/top-1": keys["bitfit"]}}))
    done = analyse(study, n_resamples=500)
    rows = {r["name"]: r for r in done["rows"]}
    assert rows["full"]["entry"] == "MultiRC"
    items = [table.items(_noisy(table.labels, flips["full"], s)) for s in (1, 2)]
    want = grouped_seed_interval(("f1a", "em_question"), items, resample="paragraph",
                                 n_resamples=500, name="MultiRC")["score"]
    assert rows["full"]["interval"]["mean"] == pytest.approx(want["mean"], abs=1e-9)
    assert rows["full"]["interval"]["ci"] == pytest.approx(want["ci"], abs=1e-9)
    (test,) = done["tests"]
    assert test["resample"] == "paragraph" and test["control"] == "full"
    kept = done["ours"]["tasks"]["MultiRC"]["top-1"]["score kept"]
    assert kept["value"] is None and "GLUE entries only" in kept["why"]


def test_suite_sweep_refused_before_anything_is_written_without_the_engine(
        tmp_path, data_root, run_cli):
    """Nothing is written by a refused run: the probe (a sweep fine-tunes), or a data diet's
    settings (suite fine-tuning does not change the training examples)."""
    probe = _spec(tmp_path / "p.toml", ["RTE"], 'suite = "fewglue"\nmethods = ["probe"]')
    diet = _spec(tmp_path / "d.toml", ["RTE"], 'suite = "fewglue"')
    diet.write_text(diet.read_text() + 'keep_fraction = 0.5\ndiet_score = "random"\n',
                    encoding="utf-8")
    for spec in (probe, diet):
        code, _, err = run_cli("sweep", str(spec), "--data-dir", str(data_root), "-o",
                               str(tmp_path / "sw"))
        assert code == 2 and err.strip().splitlines()[-1].startswith("error:"), err
        assert not (tmp_path / "sw").exists()
