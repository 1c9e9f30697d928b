"""The frozen-encoder probe: pooling, embeddings and their cache, heads, run directory, main job."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.errors import GlueBenchWarning
from gluebench.models.hf import resolve_model
from gluebench.probe import heads
from gluebench.probe.embed import SentenceEncoder, embed_examples
from gluebench.probe.pooling import pool, read_pooling
from gluebench.recipes import finetune
from gluebench.train.config import build_config


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder(resolve_model(None), max_length=128)


@pytest.fixture(scope="module")
def tiny_encoder(tiny_model):
    """The same encoder code over the 32-wide random BERT: for the cache and the heads, whose
    checks do not depend on what the vectors mean."""
    return SentenceEncoder(resolve_model(str(tiny_model)), max_length=128)


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory):
    """A probe run on the bundled sample laid out as ``tiny_run``: SST-2, RTE, STS-B x 2 seeds."""
    out = tmp_path_factory.mktemp("probe-run")
    config = build_config(method="probe", seeds="1,2", splits="dev")
    results = finetune(open_source("sample"), config, out, "SST-2,RTE,STS-B", progress=False,
                       n_resamples=50)
    return out, results


# ---- pooling and embeddings ---------------------------------------------------------------

def test_pooling_is_read_from_the_models_sentence_transformers_config(minilm_path, tmp_path):
    declared = read_pooling(minilm_path)
    assert declared.modes == ("mean",) and declared.normalize
    assert "modules.json" in declared.declared_by
    # Another declaration in the same files is followed, not assumed.
    shutil.copy(minilm_path / "modules.json", tmp_path / "modules.json")
    (tmp_path / "1_Pooling").mkdir()
    config = json.loads((minilm_path / "1_Pooling" / "config.json").read_text())
    config |= {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(config))
    modules = [m for m in json.loads((minilm_path / "modules.json").read_text())
               if not m["type"].endswith("Normalize")]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    cls = read_pooling(tmp_path)
    assert cls.modes == ("cls",) and not cls.normalize
    import torch

    hidden, mask = torch.randn(2, 4, 3), torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    assert torch.equal(pool(hidden, mask, cls), hidden[:, 0])
    mean = pool(hidden, mask, read_pooling(tmp_path / "nothing-declared"))
    assert torch.allclose(mean[0], hidden[0, :2].mean(dim=0))


@pytest.mark.slow
def test_embeddings_equal_sentence_transformers_encode(encoder, minilm_path):
    from sentence_transformers import SentenceTransformer

    rte = open_source("sample").load(get_task("RTE"), "dev")
    texts = rte.inputs["sentence1"][:24] + rte.inputs["sentence2"][:24]   # short and long
    ours, _ = encoder.embed(texts)
    st = SentenceTransformer(str(minilm_path), device="cpu")
    st.max_seq_length = 128
    theirs = st.encode(texts, batch_size=16, convert_to_numpy=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_cache_hit_and_corrupt_file_recomputed(tiny_encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("GLUEBENCH_CACHE", str(tmp_path))
    texts = open_source("sample").load(get_task("SST-2"), "dev").inputs["sentence"][:40]
    first, stats = tiny_encoder.embed(texts)
    assert not stats.cached
    again, stats = tiny_encoder.embed(texts)
    assert stats.cached and np.array_equal(first, again)
    (path,) = (tmp_path / "embeddings").glob("*.npz")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF     # one flipped byte inside the stored vectors
    path.write_bytes(bytes(raw))
    with pytest.warns(GlueBenchWarning, match="recomputing"):
        fixed, stats = tiny_encoder.embed(texts)
    assert not stats.cached and np.allclose(fixed, first, atol=1e-6)
    path.write_bytes(path.read_bytes()[:100])   # a truncated file
    with pytest.warns(GlueBenchWarning, match="cannot be read"):
        tiny_encoder.embed(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # rewritten: a clean hit again
        assert tiny_encoder.embed(texts)[1].cached


def test_feature_cache_is_verified_the_same_way(tiny_encoder, tmp_path, monkeypatch):
    from gluebench.train import features

    monkeypatch.setenv("GLUEBENCH_CACHE", str(tmp_path))
    examples = open_source("sample").load(get_task("MRPC"), "dev")
    first = features.encode(tiny_encoder.tokenizer, examples, 64)
    (path,) = (tmp_path / "features").glob("*.npz")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.warns(GlueBenchWarning, match="recomputing"):
        again = features.encode(tiny_encoder.tokenizer, examples, 64)
    np.testing.assert_array_equal(first.ids, again.ids)


# ---- heads --------------------------------------------------------------------------------

def test_c_is_chosen_by_cross_validation_on_train_only(tiny_encoder):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.preprocessing import StandardScaler

    sample = open_source("sample")
    train = sample.load(get_task("SST-2"), "train")
    table = embed_examples(tiny_encoder, [train])
    x = table.features(train)
    head = heads.fit_head(train.task, x, train.labels, seed=4)
    # The oracle: every C of the grid scored by scikit-learn on the same train folds.
    folds = StratifiedKFold(heads.FOLDS, shuffle=True, random_state=4)
    scaled = StandardScaler().fit_transform(x)
    cv = [cross_val_score(LogisticRegression(C=c, max_iter=heads.MAX_ITER), scaled,
                          train.labels, cv=folds).mean() for c in heads.C_GRID]
    np.testing.assert_allclose(head.facts["cv_scores"], cv, atol=0.011)
    assert head.facts["C"] == heads.C_GRID[int(np.argmax(head.facts["cv_scores"]))]
    assert head.parameters == x.shape[1] + 1           # binary: one weight vector + intercept


@pytest.mark.slow
def test_heads_never_see_dev(probe_run, tmp_path):
    out, _ = probe_run
    # The same run on data whose dev labels are shuffled fits the same head.
    data = tmp_path / "glue"
    shutil.copytree(open_source("sample").root, data)
    dev = data / "SST-2" / "dev.tsv"
    header, *rows = dev.read_text().splitlines()
    labels = [r.rsplit("\t", 1)[1] for r in rows]
    np.random.default_rng(0).shuffle(labels)
    dev.write_text("\n".join([header] + [r.rsplit("\t", 1)[0] + "\t" + y
                                         for r, y in zip(rows, labels, strict=True)]) + "\n")
    other = tmp_path / "run"
    finetune(open_source(str(data)), build_config(method="probe", splits="dev"), other,
             "SST-2", progress=False, n_resamples=20)
    ours, theirs = (heads.Head.load(root / "checkpoints/SST-2/seed-1") for root in (other, out))
    assert ours.facts == theirs.facts
    for name, values in ours.arrays.items():
        np.testing.assert_allclose(values, theirs.arrays[name], rtol=1e-4, atol=1e-6)


def test_a_saved_head_predicts_as_the_fitted_one(tiny_encoder, tmp_path):
    sts = open_source("sample").load(get_task("STS-B"), "train")
    table = embed_examples(tiny_encoder, [sts])
    x = table.features(sts)
    head = heads.fit_head(sts.task, x, sts.labels, seed=1)
    head.save(tmp_path)
    assert not list(tmp_path.glob("*.pkl"))
    np.testing.assert_allclose(heads.Head.load(tmp_path).scores(x), head.scores(x), rtol=1e-6)
    assert head.kind == "ridge" and head.facts["alpha"] in heads.ALPHA_GRID


# ---- the run directory --------------------------------------------------------------------

def _layout(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and "checkpoints" not in p.parts and "analysis" not in p.parts)


@pytest.mark.slow
def test_run_directory_is_laid_out_as_fine_tuning(probe_run, tiny_run):
    out, results = probe_run
    assert _layout(out) == _layout(tiny_run)
    for entry in ("SST-2", "RTE", "STS-B"):
        ours, theirs = np.load(out / "outputs" / f"{entry}.npz"), \
            np.load(tiny_run / "outputs" / f"{entry}.npz")
        assert ours.files == theirs.files and ours["outputs"].shape == theirs["outputs"].shape
    np.testing.assert_allclose(np.load(out / "outputs" / "SST-2.npz")["outputs"].sum(axis=1), 1)
    finetuned = json.loads((tiny_run / "results.json").read_text())
    assert set(results) == set(finetuned) | {"probe"}
    sst = results["training"]["SST-2"]
    assert sst["parameters"]["trainable"] == 384 + 1 < sst["parameters"]["total"]
    assert results["training"]["RTE"]["parameters"]["trainable"] == 4 * 384 + 1
    assert results["config"]["method"] == "probe"
    zero = results["tasks"]["STS-B"]["zero_shot_cosine"]
    assert 0.5 < zero["pearson"] < 1 and "not the prediction" in zero["note"]


@pytest.mark.slow
def test_scoring_the_predictions_gives_the_results(probe_run, run_cli, tmp_path):
    out, results = probe_run
    code, _, err = run_cli("score", "--data-dir", "sample", "--predictions",
                           out / "predictions" / "dev", "--json", tmp_path / "s.json",
                           "--resamples", "50")
    assert code == 0, err
    scored = json.loads((tmp_path / "s.json").read_text())
    for name in ("SST-2", "RTE", "STS-B"):
        for metric in BENCHMARKS[name].metrics:
            assert scored["tasks"][name][metric] == pytest.approx(results["tasks"][name][metric])
    assert scored["partial_average"] == pytest.approx(results["partial_average"])


@pytest.mark.slow
def test_analyses_run_on_a_probe_run(probe_run, run_cli, tmp_path):
    out, results = probe_run
    work = tmp_path / "run"
    shutil.copytree(out, work)
    code, _, err = run_cli("robustness", work, "--data-dir", "sample", "--tasks", "SST-2",
                           "--perturbations", "lowercase", "--max-examples", "40",
                           "--resamples", "20")
    assert code == 0, err
    doc = json.loads((work / "analysis" / "robustness.json").read_text())
    assert 0 <= doc["perturbations"]["SST-2"]["results"]["lowercase"]["flip_rate"] <= 1
    # The reloaded probe predicts what the run wrote.
    from gluebench.benchmark.predictions import read_predictions
    from gluebench.run_models import RunModels

    predictor = RunModels(work, device="cpu").predictor("SST-2")
    dev = open_source("sample").load(get_task("SST-2"), "dev")
    written = read_predictions(work / "predictions" / "dev" / "SST-2.tsv", BENCHMARKS["SST-2"])
    assert np.array_equal(predictor.predict(dev).values, written.values)
    for command in (("calibration", work), ("power", work),
                    ("report", work, "-o", tmp_path / "r.html")):
        code, _, err = run_cli(*command, "--resamples", "20")
        assert code == 0, (command, err)
    assert "probe" in (tmp_path / "r.html").read_text()
    code, _, err = run_cli("profile", work, "--task", "SST-2")
    assert code == 2 and err.count("\n") == 1 and "probe runs" in err


INT8_MARGIN = 3.0   # points of SST-2 dev accuracy the int8 encoder may cost


def _paired_difference(right_a: np.ndarray, right_b: np.ndarray) -> tuple[float, float]:
    """accuracy(b) - accuracy(a) in points and its standard error over resampled examples
    (McNemar's: sqrt(n10 + n01 - (n01 - n10)^2 / n) / n, from the discordant examples)."""
    n = len(right_a)
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    return (100 * (only_b - only_a) / n,
            100 * np.sqrt(only_a + only_b - (only_b - only_a) ** 2 / n) / n)


@pytest.mark.slow
def test_int8_encoder_is_not_worse_than_fp32_beyond_a_margin(glue_dir, capsys):
    """The int8 encoder against fp32 on all 872 SST-2 dev examples, paired by example.

    One head, fitted on the fp32 vectors of 300 training examples, predicts dev from the
    fp32 and from the int8 vectors, so the difference is the encoder's alone (a head refitted
    on int8 vectors adds the noise of its own C choice). The test fails when int8 costs more
    than INT8_MARGIN with 99% confidence: d + z_0.99 * se < -margin.

    Measured on this machine (12 stratified training subsamples of 300): the same head loses
    1.6 points on int8 vectors (sd 0.8 across subsamples, 91% same predictions); a head refitted
    on them, as ``--int8`` runs do, 2.2 (sd 1.5): dynamic int8 (per-tensor, torch's x86 engine)
    moves MiniLM's sentence vectors to a mean cosine of 0.93 with fp32's, and a sentence's int8
    vector depends on the batch it is embedded in.
    """
    from scipy.stats import norm

    source = open_source(glue_dir)
    task = get_task("SST-2")
    train = source.load(task, "train").stratified_subsample(300, 0)
    dev = source.load(task, "dev")
    features = {}
    for int8 in (False, True):
        enc = SentenceEncoder(resolve_model(None), max_length=128, int8=int8)
        table = embed_examples(enc, [train, dev])
        features[int8] = (table.features(train), table.features(dev))
    head = heads.fit_head(task, features[False][0], train.labels, seed=1)
    right = {k: head.scores(f[1]).argmax(1) == dev.labels for k, f in features.items()}
    own = heads.fit_head(task, features[True][0], train.labels, seed=1)
    refitted = own.scores(features[True][1]).argmax(1) == dev.labels
    d, se = _paired_difference(right[False], right[True])
    with capsys.disabled():
        print(f"\nSST-2 probe, 300 train / {len(dev)} dev: fp32 {100 * right[False].mean():.1f}; "
              f"int8 vectors, same head {100 * right[True].mean():.1f} (d {d:+.1f} +- {se:.1f}),"
              f" own head {100 * refitted.mean():.1f} "
              f"(d {_paired_difference(right[False], refitted)[0]:+.1f})")
    assert right[False].mean() > 0.7
    assert d + norm.ppf(0.99) * se >= -INT8_MARGIN


# ---- the main job -------------------------------------------------------------------------

@pytest.mark.slow
def test_gluebench_run_on_the_bundled_sample(run_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = run_cli("run", "-o", tmp_path / "run", "--tasks", "SST-2,STS-B",
                             "--resamples", "30")
    assert code == 0, err
    assert "bundled sample" in err and "plan: CPU: frozen-encoder probe" in err
    assert "majority baseline" in out and "zero-shot cosine" in err
    report = tmp_path / "run" / "report.html"
    assert f"report: {report}" in out
    html = report.read_text()
    assert "majority baseline" in html and "probe" in html and "<script" not in html
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["config"]["max_train_examples"] >= 200 and set(results["tasks"]) == {
        "SST-2", "STS-B"}


def _costs():
    from gluebench.suiterun.plan import TaskCost

    return [TaskCost(get_task("SST-2"), 67_349, 12.6, 22_000, 1),
            TaskCost(get_task("RTE"), 2_490, 72.7, 19_000, 4)]


def test_the_plan_follows_the_device_and_the_budget():
    from gluebench.suiterun.plan import QUICK_FINETUNE, describe, make_plan, probe_seconds

    gpu = make_plan("cuda", None, None, [])
    assert gpu.method == "full" and gpu.settings == {}
    line = describe(gpu, build_config())
    assert line.startswith("GPU: full fine-tuning, default recipe, the full training data")
    assert "60 min" in line
    small, large = make_plan("cpu", None, 1, _costs()), make_plan("cpu", None, 1.5, _costs())
    assert small.method == large.method == "probe"
    assert small.settings["max_train_examples"] < large.settings["max_train_examples"]
    for plan in (small, large):
        size = plan.settings["max_train_examples"]
        assert probe_seconds(_costs(), size) <= plan.budget_seconds
        line = describe(plan, build_config(**plan.settings))
        assert line.startswith("CPU: frozen-encoder probe") and f"{size:,} examples" in line
    short = make_plan("cpu", "full", None, [])
    assert short.settings == QUICK_FINETUNE
    assert "full fine-tuning, 5 epochs at learning rate 0.0003, seeded training subsamples " \
           "of up to 240" in describe(short, build_config(**short.settings))


def test_fine_tuning_stops_at_the_budget(tiny_model, tmp_path):
    from gluebench.suiterun.job import finetune_within_budget
    from gluebench.suiterun.plan import Plan

    lines = []
    config = build_config(model=str(tiny_model), epochs=1, batch_size=32, max_seq_length=32,
                          splits="dev")
    plan = Plan("cuda", "full", 0.0, {})
    results = finetune_within_budget(plan, open_source("sample"), config, tmp_path,
                                     [get_task("SST-2"), get_task("RTE")], overwrite=False,
                                     progress=False, n_resamples=20, seed=0, log=lines.append)
    assert set(results["tasks"]) == {"SST-2"}
    assert len(lines) == 1 and lines[0].startswith("RTE: skipped") and "--budget" in lines[0]
