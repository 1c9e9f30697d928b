"""Studies: layer dropping, distillation and data diets (tiny BERT on the bundled sample).

The mechanics are checked against direct computations (tensors, torch.nn.functional,
numpy, gluebench.benchmark.stats); the three commands run end to end through the sweep machinery.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gluebench.benchmark.sources import load
from gluebench.benchmark.tasks import BENCHMARKS, TASKS
from gluebench.errors import UsageError
from gluebench.models import hf
from gluebench.studies.data_diet import el2n, forgetting_counts
from gluebench.studies.layer_drop import layer_similarity, layers_to_drop
from gluebench.train import features
from gluebench.train.config import build_config
from gluebench.train.diet import diet_subset
from gluebench.train.distillation import kd_loss, layer_map
from gluebench.train.pruning import drop_layers

FAST = ("--epochs", "1", "--learning-rate", "1e-3", "--batch-size", "16",
        "--max-seq-length", "48", "--max-train-examples", "96", "--max-eval-examples", "60",
        "--resamples", "200", "--data-dir", "sample", "--seeds", "1,2")


# ---- layer dropping ----------------------------------------------------------------------

def test_a_pruned_encoder_has_fewer_layers_and_keeps_the_pretrained_weights(tiny_model,
                                                                            tmp_path):
    ref = hf.resolve_model(str(tiny_model))
    original, _ = hf.load_classifier(ref, 2)
    pruned, _ = hf.load_classifier(ref, 2)
    drop_layers(pruned, [0])
    assert len(pruned.bert.encoder.layer) == pruned.config.num_hidden_layers == 1
    kept = pruned.bert.encoder.layer[0].state_dict()
    for name, tensor in original.bert.encoder.layer[1].state_dict().items():
        assert torch.equal(kept[name], tensor), name           # layer 1 became layer 0
    assert torch.equal(pruned.bert.embeddings.word_embeddings.weight,
                       original.bert.embeddings.word_embeddings.weight)
    pruned.save_pretrained(tmp_path)
    again, _ = hf.load_classifier(hf.resolve_model(str(tmp_path)))
    assert again.config.num_hidden_layers == 1
    assert torch.equal(again.bert.encoder.layer[0].attention.self.query.weight,
                       original.bert.encoder.layer[1].attention.self.query.weight)
    for bad in ([2], [0, 1]):
        with pytest.raises(UsageError):
            drop_layers(hf.load_classifier(ref, 2)[0], bad)


def test_each_strategy_drops_the_layers_the_paper_names():
    assert layers_to_drop("top", 4, 12) == [8, 9, 10, 11]
    assert layers_to_drop("bottom", 4, 12) == [0, 1, 2, 3]
    assert layers_to_drop("alternate", 4, 12) == [5, 7, 9, 11]
    assert layers_to_drop("symmetric", 4, 12) == [4, 5, 6, 7]
    similarity = [0.1, 0.9, 0.3, 0.8, 0.2, 0.95]
    assert layers_to_drop("contribution", 2, 6, similarity) == [1, 5]   # the most similar
    with pytest.raises(UsageError):
        layers_to_drop("top", 6, 6)


def test_contribution_is_the_cosine_of_each_layers_input_and_output(tiny_model):
    ref = hf.resolve_model(str(tiny_model))
    model, _ = hf.load_classifier(ref, 2)
    examples = load("RTE", "train", "sample").take(np.arange(12))
    encoded = features.encode(hf.load_tokenizer(ref), examples, 48)
    got = layer_similarity(model, encoded, batch_size=5)
    sums, tokens = np.zeros(2), 0
    with torch.inference_mode():
        for i in range(len(encoded)):   # one unpadded example at a time
            batch = {k: torch.from_numpy(v) for k, v in encoded.batch(np.array([i])).items()}
            states = [h[0].numpy() for h in model(**batch, output_hidden_states=True)
                      .hidden_states]
            for layer in range(2):
                a, b = states[layer], states[layer + 1]
                sums[layer] += (np.sum(a * b, 1) / np.linalg.norm(a, axis=1) /
                                np.linalg.norm(b, axis=1)).sum()
            tokens += len(states[0])
    np.testing.assert_allclose(got, sums / tokens, rtol=1e-4)


# ---- distillation ------------------------------------------------------------------------

def test_the_kd_loss_is_alpha_ce_plus_t_squared_kl():
    torch.manual_seed(0)
    student, teacher = torch.randn(8, 3), torch.randn(8, 3) * 3
    gold = torch.randint(0, 3, (8,))
    for temperature, alpha in ((1.0, 0.0), (2.0, 0.5), (4.0, 0.9)):
        p_teacher = F.softmax(teacher / temperature, dim=1)
        log_student = F.log_softmax(student / temperature, dim=1)
        kl = (p_teacher * (p_teacher.log() - log_student)).sum(1).mean()
        expected = alpha * F.cross_entropy(student, gold) + \
            (1 - alpha) * temperature**2 * kl
        got = kd_loss(student, teacher, gold, temperature=temperature, alpha=alpha,
                      regression=False)
        assert torch.allclose(got, expected, atol=1e-6)
    s, t, y = torch.randn(8, 1), torch.randn(8, 1), torch.randn(8)
    got = kd_loss(s, t, y, temperature=3.0, alpha=0.25, regression=True)   # STS-B: MSE
    expected = 0.25 * ((s[:, 0] - y) ** 2).mean() + 0.75 * ((s - t) ** 2).mean()
    assert torch.allclose(got, expected)


def test_tinyberts_uniform_layer_map():
    assert layer_map(3, 6) == [(1, 2), (2, 4), (3, 6)]
    assert layer_map(4, 12) == [(1, 3), (2, 6), (3, 9), (4, 12)]


# ---- data diets --------------------------------------------------------------------------

def test_el2n_is_the_norm_of_softmax_minus_onehot():
    rng = np.random.default_rng(0)
    logits, gold = rng.normal(size=(20, 3)), rng.integers(0, 3, 20)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = np.sqrt(((p - np.eye(3)[gold]) ** 2).sum(1))
    np.testing.assert_allclose(el2n(logits, gold), expected, rtol=1e-12)
    scores = np.array([[1.0], [4.5]])
    np.testing.assert_allclose(el2n(scores, np.array([2.0, 4.0])), [1.0, 0.5])


def test_forgetting_counts_learned_to_forgotten_transitions():
    # epochs x examples: correct after each epoch
    history = [[1, 0, 1, 0, 1],
               [0, 0, 1, 1, 1],
               [1, 0, 0, 1, 1],
               [0, 0, 1, 1, 1]]
    # ex 0: 1->0 three times... 1,0,1,0: two forgets; ex 1 never learned: 4 (the epochs);
    # ex 2: 1,1,0,1: one; ex 3: learned, never forgotten; ex 4: never forgotten.
    np.testing.assert_array_equal(forgetting_counts(history), [2, 4, 1, 0, 0])


def test_a_diet_keeps_the_highest_scores_and_random_the_same_number(tmp_path):
    examples = load("RTE", "train", "sample").take(np.arange(10))
    scores = np.array([0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.0, 0.6, 0.4])
    path = tmp_path / "s.npz"
    np.savez(path, index=examples.index, score=scores)
    config = build_config(keep_fraction=0.5, diet_score="el2n", diet_scores_file=str(path))
    kept = diet_subset(examples, config, seed=1)
    assert sorted(kept.index.tolist()) == sorted(examples.index[[2, 6, 4, 8, 0]].tolist())
    randoms = [diet_subset(examples, build_config(keep_fraction=0.5, diet_score="random"),
                           seed=s) for s in (1, 2)]
    assert all(len(r) == len(kept) for r in randoms)
    np.savez(path, index=examples.index[:5], score=scores[:5])
    with pytest.raises(UsageError, match="no score"):
        diet_subset(examples, config, seed=1)


# ---- the commands, end to end ------------------------------------------------------------

def _records(study_dir):
    return {p.stem: json.loads(p.read_text()) for p in (study_dir / "results").glob("*.json")}


def _design(study_dir):
    return json.loads((study_dir / "study.json").read_text())


def _summary(study_dir, task, variant, seed):
    key = _design(study_dir)["keys"][f"{task}/{variant}"][str(seed)]
    return _records(study_dir)[key]["summary"], key


@pytest.fixture(scope="module")
def diet(tiny_model, tmp_path_factory):
    from gluebench.cli import main

    out = tmp_path_factory.mktemp("diet") / "study"
    code = main(["study", "data-diet", "--model", str(tiny_model), "--tasks", "RTE",
                 "--score", "el2n,forgetting,random", "--keep", "0.5", "--score-epochs", "2",
                 "--no-profile", "-o", str(out), *FAST])
    assert code == 0
    return out


@pytest.mark.slow
def test_a_diet_and_its_random_control_train_on_as_many_examples_for_as_many_steps(diet):
    full, _ = _summary(diet, "RTE", "full", 1)
    for seed in (1, 2):
        el2n_run, _ = _summary(diet, "RTE", "el2n-0.5", seed)
        random_run, _ = _summary(diet, "RTE", "random-0.5", seed)
        assert el2n_run["train"]["examples"] == random_run["train"]["examples"] == 48
        assert el2n_run["train"]["steps"] == random_run["train"]["steps"] == 3
    assert full["train"]["examples"] == 96 and full["train"]["steps"] == 6
    scoring = _design(diet)["facts"]["scoring"]["RTE"]
    with np.load(scoring["files"]["el2n"]) as z:
        assert len(z["score"]) == 96 and np.all((z["score"] >= 0) & (z["score"] <= 2**0.5))


@pytest.mark.slow
def test_a_rerun_skips_every_finished_trial(diet, tiny_model, run_cli):
    before = {k: r["wall_seconds"] for k, r in _records(diet).items()}
    code, out, err = run_cli("study", "data-diet", "--model", tiny_model, "--tasks", "RTE",
                             "--score", "el2n,forgetting,random", "--keep", "0.5",
                             "--score-epochs", "2", "--no-profile", "-o", diet, *FAST)
    assert code == 0, err
    assert f"0 run now, {len(before)} already done" in err
    assert {k: r["wall_seconds"] for k, r in _records(diet).items()} == before


@pytest.fixture(scope="module")
def distilled(tiny_model, tiny_run, tmp_path_factory):
    from gluebench.cli import main

    out = tmp_path_factory.mktemp("distill") / "study"
    code = main(["distill", "--teacher", str(tiny_run), "--student", str(tiny_model),
                 "--drop-layers", "1", "--tasks", "RTE,STS-B", "--hidden-loss",
                 "--temperature", "2", "--alpha", "0.5", "-o", str(out), *FAST])
    assert code == 0
    return out


@pytest.mark.slow
def test_the_control_student_has_the_same_data_and_steps_as_the_distilled_one(distilled):
    for task in ("RTE", "STS-B"):
        for seed in (1, 2):
            control, _ = _summary(distilled, task, "no-kd", seed)
            for variant in ("kd", "kd+hidden"):
                kd, _ = _summary(distilled, task, variant, seed)
                assert kd["train"]["examples"] == control["train"]["examples"] == 96
                assert kd["train"]["steps"] == control["train"]["steps"]
                assert kd["parameters"]["total"] >= control["parameters"]["total"]


@pytest.mark.slow
def test_teacher_logits_are_the_teachers_own_outputs_cached_once(distilled, tiny_run):
    from gluebench.run_models import RunModels
    from gluebench.train import loop

    facts = _design(distilled)["facts"]["teachers"]["RTE"]
    assert facts["layer_map"] == [[1, 2]] and facts["teacher_layers"] == 2
    examples = load("RTE", "train", "sample").subsample(96, 0)
    predictor = RunModels(tiny_run, device="cpu").predictor("RTE")
    model, tokenizer = predictor.load()
    encoded = features.encode(tokenizer, examples, predictor.config.max_seq_length)
    direct = loop.predict(model, encoded, predictor.config, loop.Engine("cpu", False, False))
    with np.load(facts["path"]) as z:
        np.testing.assert_array_equal(z["index"], examples.index)
        np.testing.assert_allclose(z["logits"], direct, atol=1e-5)
        assert z["hidden"].shape == (96, 1, 32)


@pytest.mark.slow
def test_kd_with_alpha_one_trains_exactly_as_without_a_teacher(distilled, tiny_model,
                                                               tmp_path):
    from gluebench.benchmark.sources import open_source
    from gluebench.recipes import finetune

    teacher = _design(distilled)["facts"]["teachers"]["RTE"]["path"]
    common = dict(model=str(tiny_model), epochs=1, learning_rate=1e-3, batch_size=16,
                  max_seq_length=48, max_train_examples=96, max_eval_examples=30,
                  splits="dev", save_checkpoints=False)
    outputs = []
    for extra, name in (({}, "plain"), ({"teacher_logits": teacher, "kd_alpha": 1.0}, "kd")):
        finetune(open_source("sample"), build_config(**common, **extra), tmp_path / name,
                 "RTE", progress=False, n_resamples=20)
        with np.load(tmp_path / name / "outputs" / "RTE.npz") as z:
            outputs.append(z["outputs"])
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)


@pytest.mark.slow
def test_comparisons_are_seed_aware_gluebench_stats_on_each_seeds_files(distilled):
    # Issue 22 changed what this checks: seeds are no longer pooled into (seed, example)
    # pairs; each seed's file is one row of the seed-aware test and interval.
    from gluebench.benchmark.seed_stats import seed_interval, seed_paired_test
    from gluebench.studies.analysis import analyse
    from gluebench.studies.design import StudyDir

    analysis = analyse(StudyDir(distilled), n_resamples=300, seed=0)
    for task, entry in (("RTE", "RTE"), ("STS-B", "STS-B")):
        golds, preds = {}, {}
        for variant in ("kd", "no-kd"):
            gold, pred = [], []
            for seed in (1, 2):
                _, key = _summary(distilled, task, variant, seed)
                with np.load(distilled / "trials" / key / "outputs" / f"{entry}.npz") as z:
                    by_index = dict(zip(z["index"].tolist(), z["gold"].tolist(), strict=True))
                rows = (distilled / "trials" / key / "predictions" / "dev" /
                        BENCHMARKS[entry].submission_file).read_text().splitlines()[1:]
                rows = sorted(rows, key=lambda r: int(r.split("\t")[0]))
                gold = [by_index[int(line.split("\t")[0])] for line in rows]
                pred.append([float(v) if entry == "STS-B" else TASKS[task].labels.index(v)
                             for v in (line.split("\t")[1] for line in rows)])
            golds[variant], preds[variant] = np.asarray(gold), np.asarray(pred)
        metrics = BENCHMARKS[entry].metrics
        expected = seed_paired_test(metrics, golds["kd"], preds["kd"], preds["no-kd"],
                                    n_resamples=300, seed=0, name=entry)["score"]
        got = next(t for t in analysis["tests"] if t["task"] == task and
                   t["variant"] == "kd" and t["control"] == "no-kd")
        assert got["diff"] == pytest.approx(expected.diff, abs=1e-6)
        assert got["ci"] == pytest.approx(expected.ci, abs=1e-6)
        assert got["p_value"] == pytest.approx(expected.p_value)
        assert got["p_value"] <= got["p_holm"] <= 1
        row = next(r for r in analysis["rows"] if r["id"] == f"{task}/kd")
        interval = seed_interval(metrics, golds["kd"], preds["kd"], n_resamples=300, seed=0,
                                 name=entry)["score"]
        assert row["interval"]["ci"] == pytest.approx(interval["ci"], abs=1e-6)
        if entry == "STS-B":
            from scipy.stats import pearsonr, spearmanr

            g = golds["kd"]
            direct = np.mean([50 * (pearsonr(g, p)[0] + spearmanr(g, p)[0])
                              for p in preds["kd"]])
            assert row["interval"]["mean"] == pytest.approx(direct, abs=1e-6)


@pytest.mark.slow
def test_the_study_report_names_the_papers_and_draws_the_plots(distilled, run_cli,
                                                               tmp_path):
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    code, out, err = run_cli("report", distilled, "-o", html, "-o", md, "--resamples", "100")
    assert code == 0, err
    text = html.read_text()
    assert "Distillation study" in text and "Beside the paper" in text
    assert "DistilBERT" in text and "retaining 97%" in text and "96.8%" in text
    assert "no: our teacher has 2 layers, the paper&#x27;s 12" in text
    assert 'data-plot="study-score"' in text and 'data-plot="study-pareto-RTE"' in text
    assert "int8" in text and "teacher" in text
    assert "| RTE | kd+hidden |" in md.read_text()


@pytest.mark.slow
def test_layer_drop_runs_each_pruned_encoder_against_the_full_one(tiny_model, run_cli,
                                                                  tmp_path):
    out = tmp_path / "ld"
    code, stdout, err = run_cli("study", "layer-drop", "--model", tiny_model, "--tasks",
                                "STS-B", "--strategy", "top,contribution", "--drop", "1",
                                "--no-profile", "-o", out, *FAST[:-2], "--seeds", "1")
    assert code == 0, err
    full, _ = _summary(out, "STS-B", "full", 1)
    top, key = _summary(out, "STS-B", "top-1", 1)
    results = json.loads((out / "trials" / key / "results.json").read_text())
    assert results["training"]["STS-B"]["layers"] == 1
    per_layer = full["parameters"]["total"] - top["parameters"]["total"]
    assert per_layer == 4 * (32 * 32 + 32) + (32 * 64 + 64) + (64 * 32 + 32) + 2 * 2 * 32
    sims = _design(out)["facts"]["similarity"]["STS-B"]
    assert len(sims) == 2 and "Sajjad" in stdout and "up to 98%" in stdout


BAD = [
    (["study", "layer-drop", "--drop", "9"], "can drop 1 to"),
    (["study", "layer-drop", "--strategy", "middle"], "--strategy: unknown 'middle'"),
    (["study", "data-diet", "--keep", "1.5"], "--keep"),
    (["study", "data-diet", "--score", "loss"], "--score: unknown 'loss'"),
    (["distill", "--teacher", "no/such/run"], "not a gluebench run directory"),
]


@pytest.mark.parametrize("args,expected", BAD)
def test_bad_study_input_is_one_line_before_anything_is_written(args, expected, tiny_model,
                                                                run_cli, tmp_path):
    model = ["--student" if args[0] == "distill" else "--model", str(tiny_model)]
    code, out, err = run_cli(*args, *model, "--tasks", "RTE", "--data-dir", "sample",
                             "-o", tmp_path / "out")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
    assert not (tmp_path / "out").exists()
