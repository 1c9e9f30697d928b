"""The frozen-encoder probe on FewGLUE (``finetune --method probe --suite``), with the embedded
MiniLM on the real files: one task of each shape (RTE with AX-b/AX-g, WiC's marked word, COPA's
options, MultiRC's answer options, ReCoRD's entities), scored by ``score --suite`` as the run
scored itself; COPA's option framing and dev32 selection recomputed by hand with
scikit-learn; resume; and the tasks a probe cannot learn refused in one line.

SuperGLUE's ReCoRD val is not in the shared data, so ReCoRD's format is tested on a folder whose
``superglue/ReCoRD/val.jsonl`` is the last 4 passages of FewGLUE's ReCoRD dev32 (and dev32
its first 8): real rows, held apart. The other files are the real ones' first lines.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite_loader import load_suite
from gluebench.cli.main import main
from gluebench.probe.suite_heads import selection_splits
from tests.conftest import real_data_missing, suite_data_roots

pytestmark = [pytest.mark.real_data,
              pytest.mark.filterwarnings("ignore:.*official.*:UserWarning"),
              pytest.mark.filterwarnings("ignore::gluebench.errors.GlueBenchWarning")]

TASKS = "RTE,WiC,COPA,MultiRC,ReCoRD"
SHAPES = ["RTE", "AX-b", "AX-g", "WiC", "COPA", "MultiRC", "ReCoRD"]
SETTINGS = ["--max-seq-length", "32", "--splits", "dev",
            "--resamples", "100", "--no-progress"]


def _real_root() -> Path:
    for root in suite_data_roots():
        if (root / "fewglue" / "COPA" / "train.jsonl").is_file() and \
                (root / "superglue" / "COPA" / "val.jsonl").is_file():
            return root
    real_data_missing("FewGLUE and SuperGLUE data not found")


# The real files' first lines, to keep the file short: (folder, task, file) -> lines (None:
# all). Every file is predicted whole, so `score --suite` checks it id by id.
CUTS = {("fewglue", "RTE", "train"): None, ("fewglue", "RTE", "dev32"): None,
        ("superglue", "RTE", "val"): 24, ("superglue", "AX-b", "AX-b"): 24,
        ("superglue", "AX-g", "AX-g"): 24,
        ("fewglue", "WiC", "train"): None, ("fewglue", "WiC", "dev32"): None,
        ("superglue", "WiC", "val"): 24,
        ("fewglue", "WSC", "train"): None, ("fewglue", "WSC", "dev32"): None,
        ("superglue", "WSC", "val"): 24,
        ("fewglue", "COPA", "train"): None, ("fewglue", "COPA", "dev32"): None,
        ("superglue", "COPA", "val"): 24,
        ("fewglue", "MultiRC", "train"): 8, ("fewglue", "MultiRC", "dev32"): 8,
        ("superglue", "MultiRC", "val"): 2,
        ("fewglue", "ReCoRD", "train"): 8, ("fewglue", "ReCoRD", "dev32"): 8}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """Copies of the real files (a data folder refuses links out of it), cut to ``CUTS``, and a
    ReCoRD val of 4 queries from FewGLUE's ReCoRD dev32 that the run's dev32 does not hold."""
    real = _real_root()
    root = tmp_path_factory.mktemp("data")
    for (folder, task, name), n in CUTS.items():
        lines = (real / folder / task / f"{name}.jsonl").read_text().splitlines(True)
        (root / folder / task).mkdir(parents=True, exist_ok=True)
        (root / folder / task / f"{name}.jsonl").write_text("".join(lines[:n]))
    record = (real / "fewglue" / "ReCoRD" / "dev32.jsonl").read_text().splitlines(True)
    (root / "superglue" / "ReCoRD").mkdir()
    (root / "superglue" / "ReCoRD" / "val.jsonl").write_text("".join(record[-4:]))
    return root


def _finetune(data_root: Path, out: Path, tasks: str = TASKS) -> int:
    return main(["finetune", "--method", "probe", "--suite", "fewglue", "--data-dir",
                 str(data_root), "--tasks", tasks, "-o", str(out), *SETTINGS])


@pytest.fixture(scope="module")
def probe_run(data_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("probe") / "run"
    with pytest.MonkeyPatch.context() as mp:      # the embeddings' cache: this session's
        mp.setenv("GLUEBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        assert _finetune(data_root, out) == 0
    return out


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


@pytest.mark.slow
def test_every_shape_is_scored_by_score_suite_as_the_run_scored_it(probe_run, data_root,
                                                                   tmp_path, run_cli):
    results = _results(probe_run)
    assert list(results["tasks"]) == [n for n in load_suite("fewglue").entries if n in SHAPES]
    code, _, err = run_cli("score", "--suite", "fewglue", "--data-dir", data_root,
                           "--predictions", probe_run / "predictions" / "dev",
                           "--resamples", "100", "--json", tmp_path / "score.json")
    assert code == 0, err
    rescored = json.loads((tmp_path / "score.json").read_text())
    for name in SHAPES:
        assert rescored["tasks"][name]["score"] == pytest.approx(
            results["tasks"][name]["score"], abs=1e-12), name
    assert rescored["partial_average"] == pytest.approx(results["partial_average"], abs=1e-12)
    # ReCoRD predicts an entity of each query's own passage; MultiRC is written nested.
    record = [json.loads(line) for line in
              (probe_run / "predictions" / "dev" / "ReCoRD.jsonl").read_text().splitlines()]
    table = load_split(load_suite("fewglue"), load_suite("fewglue").task("ReCoRD"), "dev",
                       data_root)
    assert len(record) == len(table) >= 4
    for row, line in zip(range(len(table)), record, strict=True):
        assert line["idx"] == int(table.ids[row])
        assert line["label"] in set(map(str, table.inputs["entities"][row]))
    multirc = (probe_run / "predictions" / "dev" / "MultiRC.jsonl").read_text().splitlines()
    assert "questions" in json.loads(multirc[0])["passage"]


def _copa_by_hand(root: Path, split_file: str, suite_folder: str):
    rows = [json.loads(line) for line in
            (root / suite_folder / "COPA" / split_file).read_text().splitlines()]
    context = [f"{r['premise']} {r['question']}" for r in rows for _ in (1, 2)]
    option = [r[f"choice{i}"] for r in rows for i in (1, 2)]
    right = np.array([r["label"] == i for r in rows for i in (0, 1)], dtype=int)
    return rows, context, option, right


@pytest.mark.slow
def test_copa_options_and_dev32_selection_match_a_hand_computation(probe_run, data_root):
    """Each (premise + "cause"/"effect", alternative) pair -> [u, v, |u-v|, u*v] -> scaled
    logistic regression "is this the right alternative", C the best on dev32 accuracy
    (first of equals), each row's alternative with the higher probability."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from gluebench.models.hf import resolve_model
    from gluebench.probe.embed import SentenceEncoder
    from gluebench.probe.heads import C_GRID

    encoder = SentenceEncoder(resolve_model(None), max_length=32)

    def features(context, option):
        u, v = encoder.embed(context)[0], encoder.embed(option)[0]
        return np.hstack([u, v, np.abs(u - v), u * v])

    _, ctx, opt, y = _copa_by_hand(data_root, "train.jsonl", "fewglue")
    x = features(ctx, opt)
    dev_rows, ctx32, opt32, _ = _copa_by_hand(data_root, "dev32.jsonl", "fewglue")
    x32 = features(ctx32, opt32)

    def fit(c):
        scaler = StandardScaler().fit(x)
        return scaler, LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x), y)

    def choose(model, xs):
        scaler, head = model
        return head.predict_proba(scaler.transform(xs))[:, 1].reshape(-1, 2).argmax(axis=1)

    accuracy = [np.mean(choose(fit(c), x32) == [r["label"] for r in dev_rows]) for c in C_GRID]
    best = C_GRID[int(np.argmax(accuracy))]
    saved = json.loads((probe_run / "checkpoints" / "COPA" / "seed-1" / "head.json").read_text())
    assert saved["C"] == pytest.approx(best)
    assert saved["selection_scores"] == pytest.approx([100 * a for a in accuracy])
    val_rows, ctxv, optv, _ = _copa_by_hand(data_root, "val.jsonl", "superglue")
    by_hand = choose(fit(best), features(ctxv, optv))
    written = [json.loads(line) for line in
               (probe_run / "predictions" / "dev" / "COPA.jsonl").read_text().splitlines()]
    assert [w["idx"] for w in written] == [r["idx"] for r in val_rows]
    assert [int(w["label"]) for w in written] == by_hand.tolist()


@pytest.mark.slow
def test_a_probe_run_resumes_only_its_missing_unit(probe_run, data_root, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(probe_run, run)
    units = run / "units"
    before = {p.name: p.stat().st_mtime_ns for p in units.glob("*.json")}
    (units / "COPA-seed1.json").unlink()
    assert _finetune(data_root, run) == 0
    after = {p.name: p.stat().st_mtime_ns for p in units.glob("*.json")}
    assert set(after) == set(before)
    assert [n for n in after if after[n] != before[n]] == ["COPA-seed1.json"]
    first, again = _results(probe_run), _results(run)
    assert {n: t["score"] for n, t in again["tasks"].items()} == \
        {n: t["score"] for n, t in first["tasks"].items()}


def test_a_task_no_head_can_learn_is_refused_in_one_line(data_root, tmp_path, run_cli):
    """FewGLUE's WSC trains on 32 rows that are all "true": nothing for a classifier to learn."""
    code, out, err = run_cli("finetune", "--method", "probe", "--suite", "fewglue",
                             "--data-dir", data_root, "--tasks", "WSC", "-o", tmp_path / "r",
                             *SETTINGS)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: WSC train (") and "all 32 training examples are 'true'" in err
    assert not (tmp_path / "r").exists()


def test_without_dev32_c_is_chosen_on_folds_of_whole_paragraphs(data_root):
    suite = load_suite("fewglue")
    table = load_split(suite, suite.task("MultiRC"), "dev32", data_root)
    pairs, how = selection_splits(table, None, suite.entry("MultiRC"), seed=0)
    assert len(pairs) == 5 and "by paragraph" in how
    held = np.concatenate([h.ids for _, h in pairs])
    assert sorted(held.tolist()) == sorted(table.ids.tolist())     # each row held out once
    for fit, held_part in pairs:
        assert not set(fit.groups["paragraph"]) & set(held_part.groups["paragraph"])


def test_without_dev32_copa_selection_matches_folds_by_hand(data_root):
    """No model: made-up vectors for COPA's texts; C by 5-fold CV on train (rows, not options,
    per fold), each fold's accuracy of the chosen alternatives computed with scikit-learn."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from gluebench.probe.heads import C_GRID
    from gluebench.probe.suite_features import FeatureTable, texts_of
    from gluebench.probe.suite_heads import fit_suite_head
    from gluebench.shapes.framing import frame

    suite = load_suite("fewglue")
    task, entry = suite.task("COPA"), suite.entry("COPA")
    train = load_split(suite, task, "train", data_root)
    texts = list(dict.fromkeys(texts_of(frame(train))))
    vectors = np.random.default_rng(0).normal(size=(len(texts), 6)).astype(np.float32)
    features = FeatureTable(texts, vectors)
    head = fit_suite_head(task, entry, features, train, None, seed=3)

    def accuracy(c, fit, held):
        f_fit, f_held = frame(fit), frame(held)
        x, x_held = features.features(f_fit), features.features(f_held)
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x),
                                                            f_fit.correct.astype(int))
        p = model.predict_proba(scaler.transform(x_held))[:, 1].reshape(-1, 2)
        return 100 * np.mean(p.argmax(axis=1) == held.labels)

    pairs, _ = selection_splits(train, None, entry, seed=3)
    expected = [np.mean([accuracy(c, fit, held) for fit, held in pairs]) for c in C_GRID]
    assert head.facts["selection_scores"] == pytest.approx(expected)
    assert head.facts["C"] == C_GRID[int(np.argmax(expected))]
    assert head.facts["selection"].startswith("5-fold split of train by example")
