"""Run state you can trust: nothing deleted or created before the input is checked, damaged
run files found, changed data re-run, one writer per run directory (issue: hardening 2, 5, 6).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gluebench.runs.lock import LOCK_NAME

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "gluebench" / "sample_data" / "glue"


def tiny_args(model: Path, out: Path, *extra: str) -> list[str]:
    return ["finetune", "--model", str(model), "--data-dir", "sample", "--tasks", "RTE",
            "--epochs", "1", "--batch-size", "16", "--max-seq-length", "32",
            "--max-train-examples", "32", "--max-eval-examples", "40", "--splits", "dev",
            "--resamples", "20", "--no-progress", "-o", str(out), *extra]


def one_error(err: str, *words: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in errors[0], (word, errors[0])


# ---- validate everything before any side effect -------------------------------------------

@pytest.mark.slow
def test_bad_task_with_overwrite_deletes_nothing(run_cli, tmp_path, tiny_model):
    own = tmp_path / "my-thesis"
    own.mkdir()
    (own / "chapter1.tex").write_text("precious")
    code, _, err = run_cli(*tiny_args(tiny_model, own, "--overwrite"), "--tasks", "bogus")
    assert code == 2
    one_error(err, "bogus")
    assert (own / "chapter1.tex").read_text() == "precious"
    assert sorted(p.name for p in own.iterdir()) == ["chapter1.tex"]


@pytest.mark.slow
def test_overwrite_refuses_a_folder_that_is_not_a_run(run_cli, tmp_path, tiny_model):
    own = tmp_path / "notes"
    own.mkdir()
    (own / "a.txt").write_text("keep")
    code, _, err = run_cli(*tiny_args(tiny_model, own, "--overwrite"))
    assert code == 2
    one_error(err, "not a gluebench run", "refusing")
    assert (own / "a.txt").read_text() == "keep" and len(list(own.iterdir())) == 1


@pytest.mark.parametrize("flags, words", [
    (["--tasks", ""], ["no task named"]),
    (["--tasks", "RTE,,CoLA"], ["empty task name"]),
    (["--seeds", "-1"], ["seed"]),
    (["--seeds", "4294967296"], ["2**32"]),
    (["--seeds", "1_0"], ["seed"]),
    (["--learning-rate", "nan"], ["finite"]),
    (["--learning-rate=-1e-4"], ["learning_rate"]),
    (["--epochs", "inf"], ["finite"]),
    (["--lora-dropout", "1.5"], ["lora_dropout"]),
    (["--weight-decay", "-1"], ["weight_decay"]),
    (["--max-grad-norm", "0"], ["max_grad_norm"]),
    (["--batch-size", "0"], ["batch_size"]),
    (["--batch-size", "1e9999"], ["batch_size"]),
    (["--seed", "-3"], ["seed"]),
])
def test_bad_settings_fail_before_the_run_folder_exists(run_cli, tmp_path, tiny_model, flags,
                                                        words):
    out = tmp_path / "run"
    code, _, err = run_cli(*tiny_args(tiny_model, out), *flags)
    assert code == 2
    one_error(err, *words)
    assert not out.exists()


def test_all_twice_is_all():
    from gluebench.benchmark.tasks import BENCHMARKS, resolve_benchmarks

    assert [b.name for b in resolve_benchmarks("all,all")] == list(BENCHMARKS)
    assert [b.name for b in resolve_benchmarks("RTE,all")][0] == "RTE"


def test_output_that_is_a_file_is_refused(run_cli, tmp_path, tiny_model):
    target = tmp_path / "results.txt"
    target.write_text("mine")
    code, _, err = run_cli(*tiny_args(tiny_model, target))
    assert code == 2
    one_error(err, "existing file")
    assert target.read_text() == "mine"


@pytest.mark.parametrize("content, words", [
    ("batch_size = true\n", ["batch_size", "whole number", "boolean"]),
    ('batch_size = "32"\n', ["batch_size", "string"]),
    ("epochs = true\n", ["epochs", "boolean"]),
    ("length_grouping = 1\n", ["length_grouping", "true or false"]),
    ("seeds = [1, true]\n", ["seeds"]),
    ("batch_size = 2.5\n", ["batch_size"]),
])
def test_config_file_types_are_strict(run_cli, tmp_path, tiny_model, content, words):
    config = tmp_path / "recipe.toml"
    config.write_text(content)
    out = tmp_path / "run"
    code, _, err = run_cli(*tiny_args(tiny_model, out), "--config", config)
    assert code == 2
    one_error(err, str(config), *words)
    assert not out.exists()


def test_a_causal_lm_without_padding_token_says_what_to_use(run_cli, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path / "tiny-gpt2"
    vocab = {w: i for i, w in enumerate(["<unk>", "the", "a", "is", "not", "good", "bad"])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>").save_pretrained(folder)
    config = GPT2Config(vocab_size=len(vocab), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                        pad_token_id=None)
    GPT2LMHeadModel(config).save_pretrained(folder)
    out = tmp_path / "run"
    code, _, err = run_cli(*tiny_args(folder, out))
    assert code == 2
    one_error(err, "causal language model", "gluebench prompt")
    assert not out.exists()


# ---- run state you can trust --------------------------------------------------------------

@pytest.fixture
def small_run(run_cli, tmp_path, tiny_model) -> Path:
    out = tmp_path / "run"
    code, _, err = run_cli(*tiny_args(tiny_model, out))
    assert code == 0, err
    return out


def test_a_tampered_unit_marker_is_one_line(run_cli, small_run, tiny_model):
    marker = small_run / "units" / "RTE-seed1.json"
    unit = json.loads(marker.read_text())
    unit["entries"]["RTE"]["score"] = 99.9          # an edited score
    marker.write_text(json.dumps(unit))
    code, _, err = run_cli(*tiny_args(tiny_model, small_run))
    assert code == 2
    one_error(err, "RTE-seed1.json", "checksum")


def test_a_truncated_run_json_is_one_line(run_cli, small_run, tiny_model):
    path = small_run / "run.json"
    path.write_bytes(path.read_bytes()[:50])
    code, _, err = run_cli(*tiny_args(tiny_model, small_run))
    assert code == 2
    one_error(err, "run.json", "damaged")


def test_a_tampered_prediction_file_is_found_on_resume(run_cli, small_run, tiny_model):
    path = small_run / "seeds" / "1" / "predictions" / "dev" / "RTE.tsv"
    lines = path.read_text().splitlines()
    label = lines[1].split("\t")[1]
    other = "entailment" if label == "not_entailment" else "not_entailment"
    lines[1] = lines[1].split("\t")[0] + "\t" + other
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_cli(*tiny_args(tiny_model, small_run))
    assert code == 2
    one_error(err, "RTE.tsv", "hash")


def test_a_tampered_outputs_file_is_one_line_in_analysis(run_cli, small_run):
    path = small_run / "outputs" / "RTE.npz"
    with np.load(path) as z:
        saved = {k: z[k] for k in z.files}
    saved["outputs"] = saved["outputs"][:, ::-1].copy()     # swapped classes
    np.savez(path, **saved)
    code, _, err = run_cli("calibration", small_run)
    assert code == 2
    one_error(err, "outputs/RTE.npz", "hash")
    path.write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run_cli("calibration", small_run)
    assert code == 2
    one_error(err, "RTE.npz")


def test_changed_dev_labels_are_rescored_not_stale(run_cli, tmp_path, tiny_model):
    data = tmp_path / "glue"
    shutil.copytree(SAMPLE / "RTE", data / "RTE")
    out = tmp_path / "run"
    args = [a if a != "sample" else str(data) for a in tiny_args(tiny_model, out)]
    code, _, err = run_cli(*args)
    assert code == 0, err
    before = json.loads((out / "results.json").read_text())["tasks"]["RTE"]["score"]
    # Flip every dev label: the same predictions now score 100 - before.
    dev = data / "RTE" / "dev.tsv"
    lines = dev.read_text(encoding="utf-8").splitlines()
    flip = {"entailment": "not_entailment", "not_entailment": "entailment"}
    rows = [ln.split("\t") for ln in lines[1:]]
    dev.write_text("\n".join([lines[0]] + ["\t".join(r[:-1] + [flip[r[-1]]]) for r in rows])
                   + "\n", encoding="utf-8")
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "data changed" in err
    after = json.loads((out / "results.json").read_text())["tasks"]["RTE"]["score"]
    assert after == pytest.approx(100 - before, abs=1e-9)


def test_a_damaged_cache_entry_is_recomputed(tmp_path, monkeypatch, minilm_path):
    from gluebench.benchmark.sources import open_source
    from gluebench.benchmark.tasks import get_task
    from gluebench.models.hf import load_tokenizer, resolve_model
    from gluebench.train import features

    monkeypatch.setenv("GLUEBENCH_CACHE", str(tmp_path / "cache"))
    tokenizer = load_tokenizer(resolve_model(str(minilm_path)))
    examples = open_source("sample").load(get_task("RTE"), "dev")
    first = features.encode(tokenizer, examples, 64)
    (entry,) = list((tmp_path / "cache" / "features").glob("*.npz"))
    raw = bytearray(entry.read_bytes())
    raw[len(raw) // 2] ^= 0xFF                  # one flipped byte inside the data
    entry.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="recomputing"):
        again = features.encode(tokenizer, examples, 64)
    assert np.array_equal(first.ids, again.ids) and np.array_equal(first.offsets, again.offsets)
    with np.load(entry) as z:                   # rewritten whole
        assert "content_sha256" in z.files


def test_atomic_write_leaves_no_temp_file_on_failure(tmp_path, monkeypatch):
    from gluebench.formats.atomic import atomic_write

    target = tmp_path / "out.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


# ---- concurrency --------------------------------------------------------------------------

def cli_process(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gluebench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_a_second_writer_of_the_same_run_refuses(tmp_path, tiny_model):
    out = tmp_path / "run"
    # Long enough to be interrupted while it trains (the tiny model, many epochs).
    first = cli_process(*tiny_args(tiny_model, out, "--epochs", "2000"))
    deadline = time.time() + 120
    while not (out / LOCK_NAME).exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert (out / LOCK_NAME).exists(), first.communicate()
    second = cli_process(*tiny_args(tiny_model, out))
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    one_error(err, "being written by another gluebench", f"pid {first.pid}")
    # Interrupted work (SIGTERM, as a scheduler sends; Ctrl-C takes the same path, but a
    # background CI shell may ignore SIGINT): one line, the lock released, resumable.
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 2, err
    one_error(err, "interrupted")
    assert not (out / LOCK_NAME).exists()


def test_a_stale_lock_is_taken_over_with_a_warning(run_cli, tmp_path, tiny_model):
    import socket

    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                             "since": time.time()}))
    code, _, err = run_cli(*tiny_args(tiny_model, out))
    assert code == 0, err
    assert "taking over the lock" in err and not (out / LOCK_NAME).exists()


@pytest.mark.slow
def test_two_processes_writing_one_baseline_folder_both_succeed(tmp_path):
    out = tmp_path / "preds"
    procs = [cli_process("baseline", kind, "--data-dir", "sample", "--split", "dev", "-o",
                         str(out), "--seed", "1") for kind in ("random", "random", "majority")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    from gluebench.cli import main

    assert main(["score", "--data-dir", "sample", "--predictions", str(out),
                 "--resamples", "10"]) == 0
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_a_lock_that_is_no_longer_renewed_is_taken_over_from_any_host(run_cli, tmp_path,
                                                                       tiny_model):
    from gluebench.runs.lock import STALE_AFTER

    out = tmp_path / "run"
    out.mkdir()
    lock = out / LOCK_NAME
    lock.write_text(json.dumps({"pid": 1, "host": "another-node", "since": 0}))
    code, _, err = run_cli(*tiny_args(tiny_model, out))
    assert code == 2
    one_error(err, "another-node")
    old = time.time() - STALE_AFTER - 5
    os.utime(lock, (old, old))
    code, _, err = run_cli(*tiny_args(tiny_model, out))
    assert code == 0, err
    assert "not renewed" in err
