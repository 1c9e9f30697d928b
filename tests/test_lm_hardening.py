"""Prompted runs that cannot go silently wrong: calibration, non-finite scores, resuming,
checks before the first write, a hostile completions server, per-task templates.

The local model is a tiny random-weight Llama saved with SmolLM2's real tokenizer (built
here in seconds); the server is a real HTTP server on 127.0.0.1 whose replies each test
scripts, bad ones included.
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from gluebench.errors import GlueBenchError
from gluebench.formats.atomic import read_json
from gluebench.lm.endpoint import EndpointBackend
from gluebench.lm.requests import Request

RTE_CHOICES = (" True", " False")
COMMON = ["--tasks", "RTE", "--data-dir", "sample", "--splits", "dev", "--resamples", "20",
          "--no-progress"]


# ---- a tiny causal LM with SmolLM2's tokenizer --------------------------------------------

def _save_tiny_llama(folder: Path, tokenizer, *, nan_head: bool = False) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=2048, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config)
    if nan_head:          # a broken checkpoint: every log-probability is NaN
        with torch.no_grad():
            model.lm_head.weight.fill_(float("nan"))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, tiny_llama) -> dict[str, Path]:
    """{"ok": a 2-layer, 16-wide random Llama; "nan": the same with a NaN LM head}, with
    SmolLM2's tokenizer (as ``tiny_llama`` saved it from the GGUF file)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    root = tmp_path_factory.mktemp("tiny-llama")
    return {"ok": _save_tiny_llama(root / "ok", tokenizer),
            "nan": _save_tiny_llama(root / "nan", tokenizer, nan_head=True)}


# ---- a completions server whose every reply a test scripts --------------------------------

class Script:
    """What the server does: ``respond(handler, body)`` writes the whole reply."""

    def __init__(self):
        self.respond = lambda handler, body: send_json(handler, {})
        self.models = {"object": "list", "data": [{"id": "m"}]}   # what GET /v1/models says
        self.bodies: list[dict] = []
        self.release = threading.Event()     # ends handlers told to hang
        self.sent = 0                        # bytes a streaming reply got out


def send(handler, status: int, data: bytes, headers=(), length: int | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(data) if length is None else length))
    for k, v in headers:
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)


def send_json(handler, doc, status: int = 200) -> None:
    send(handler, status, json.dumps(doc).encode(), [("Content-Type", "application/json")])


def completion(logprobs: dict | None, text: str = "") -> dict:
    return {"id": "cmpl-1", "object": "text_completion", "model": "m",
            "choices": [{"index": 0, "text": text, "logprobs": logprobs,
                         "finish_reason": "length"}]}


def echo_reply(prompt: str, value) -> dict:
    """vLLM's echo format: the context as one token, then the choice with ``value``."""
    start = len(prompt) - len(next(c for c in RTE_CHOICES if prompt.endswith(c)))
    return completion({"text_offset": [0, start, len(prompt)],
                       "tokens": [prompt[:start], prompt[start:], "x"],
                       "token_logprobs": [None, value, -0.1],
                       "top_logprobs": [None, {prompt[start:]: value}, {"x": -0.1}]})


@pytest.fixture()
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if isinstance(script.models, str):
                send(self, 200, script.models.encode())
            else:
                send_json(self, script.models)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.bodies.append(body)
            try:
                script.respond(self, body)
            except (BrokenPipeError, ConnectionResetError):
                pass          # the client hung up, as it should on a bad reply

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield script
    script.release.set()
    httpd.shutdown()
    httpd.server_close()


def cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def rte_requests(n: int = 3) -> list[Request]:
    """Requests named as the prompted runner names them (errors quote the name)."""
    return [Request(f"Premise {i}.\nQuestion: Claim {i}. True or False?\nAnswer:",
                    RTE_CHOICES, f"RTE dev example {i}") for i in range(n)]


# ---- item 3: calibration in log space, non-finite values are errors --------------------------

def test_calibration_works_in_log_space_where_probabilities_underflow():
    from gluebench.lm import choices as scoring

    # Log-likelihoods 800 nats apart: exp() underflows to 0, so p / p_cf was 0 / 0.
    content_free = np.array([[0.0, -800.0], [0.0, -790.0], [0.0, -810.0]])
    log_cf = scoring.content_free_log(content_free)
    assert np.isfinite(log_cf).all()
    # by hand: p(choice 1) = e^-d / (1 + e^-d) = e^-d to double precision, for d = 800, 790,
    # 810; their mean is e^-790 (e^-10 + 1 + e^-20) / 3; p(choice 0) is 1 to double precision
    assert log_cf[0] == pytest.approx(0.0, abs=1e-12)
    assert log_cf[1] == pytest.approx(-790 + math.log((math.exp(-10) + 1 + math.exp(-20)) / 3),
                                      abs=1e-9)
    scores = np.array([[0.0, -795.0], [0.0, -785.0]])
    calibrated = np.exp(scoring.calibrate_log(scoring.log_probabilities(scores), log_cf))
    assert np.isfinite(calibrated).all() and np.allclose(calibrated.sum(axis=1), 1)
    # Zhao et al. by hand, in log space: log p - log p_cf, renormalised
    raw = np.array([[0.0 - log_cf[0], -795.0 - log_cf[1]], [0.0 - log_cf[0], -785.0 - log_cf[1]]])
    by_hand = np.exp(raw - raw.max(axis=1, keepdims=True))
    assert np.allclose(calibrated, by_hand / by_hand.sum(axis=1, keepdims=True))
    assert calibrated.argmax(axis=1).tolist() == [0, 1]      # -785 beats the prior of ~-790


def _first_token_server(script: Script) -> None:
    """The choice ' False' is never in a content-free input's top-k; examples see both."""
    def respond(handler, body):
        prompt = body["prompt"]
        if prompt.startswith(("N/A\n", "\n", "[MASK]\n")):
            top = {" True": -0.3, " Maybe": -1.2}
        else:
            top = {" True": -0.7, " False": -0.9} if len(prompt) % 3 else \
                {" False": -0.2, " True": -1.9}
        send_json(handler, completion({"text_offset": [len(prompt)], "tokens": [" True"],
                                       "token_logprobs": [-0.3], "top_logprobs": [top]}))

    script.respond = respond


def test_first_token_calibration_with_an_unseen_choice_is_undefined_not_nan(server, run_cli,
                                                                              tmp_path):
    _first_token_server(server)
    out = tmp_path / "run"
    code, stdout, err = run_cli("prompt", "--endpoint", server.url, "--model", "m",
                                "--scoring", "first_token", "--calibrate", "--top-k", "2",
                                "-o", out, *COMMON)
    assert code == 0, err
    results = read_json(out / "results.json")
    rte = results["tasks"]["RTE"]
    assert "calibrated" not in rte          # not a score of one class made of NaN
    assert "'False'" in rte["calibration_undefined"]
    assert "top-2" in rte["calibration_undefined"]
    assert "calibration undefined" in err
    assert not (out / "calibrated" / "predictions" / "dev" / "RTE.tsv").exists()
    assert "NaN" not in (out / "results.json").read_text()
    assert math.isfinite(rte["score"])


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_log_probability_from_a_server_names_the_request(server, run_cli,
                                                                     tmp_path, bad):
    def respond(handler, body):
        prompt = body["prompt"]
        value = -1.0 if prompt.endswith(" True") else -2.0
        if prompt.startswith("The Amish community") and prompt.endswith(" False"):  # row 1
            text = json.dumps(echo_reply(prompt, 12345.5)).replace("12345.5", bad)
            send(handler, 200, text.encode())
            return
        send_json(handler, echo_reply(prompt, value))

    server.respond = respond
    out = tmp_path / "run"
    code, _, err = run_cli("prompt", "--endpoint", server.url, "--model", "m", "-o", out,
                           *COMMON)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in err
    assert "RTE dev example 1, choice 'False'" in lines[-1]
    assert bad.lower().lstrip("-")[:3] in lines[-1].lower()
    assert not (out / "results.json").exists()
    with sqlite3.connect(out / "endpoint-cache.sqlite") as db:     # the good ones only
        bodies = [row[0] for row in db.execute("SELECT body FROM responses")]
    assert bodies and not any(w in b for b in bodies for w in ("NaN", "Infinity"))


@pytest.mark.slow
def test_nan_from_a_local_model_is_an_error_naming_the_request(tiny_models, run_cli,
                                                              tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("prompt", "--model", tiny_models["nan"], "--max-eval-examples", "4",
                           "-o", out, *COMMON)
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: RTE dev example ") and ", choice 'True'" in line
    assert "log-probability nan" in line
    assert not (out / "results.json").exists() and not list(out.glob("units/*.json"))


def test_the_writing_layer_refuses_non_finite_results(tmp_path):
    from gluebench.benchmark.sources import open_source
    from gluebench.benchmark.tasks import BENCHMARKS, TASKS
    from gluebench.runs.recording import record_split, save_outputs, write_prediction_file
    from gluebench.runs.rundir import RunDir

    rte = open_source("sample").load(TASKS["RTE"], "dev").subsample(4, 0)
    stsb = open_source("sample").load(TASKS["STS-B"], "dev").subsample(4, 0)
    probs = np.array([[0.6, 0.4], [np.nan, 0.5], [0.1, 0.9], [0.5, 0.5]])
    with pytest.raises(GlueBenchError, match=r"RTE.npz \(outputs\): \[1, 0\] is nan"):
        save_outputs(tmp_path / "RTE.npz", rte, probs)
    with pytest.raises(GlueBenchError, match="is inf"):
        write_prediction_file(tmp_path / "STS-B.tsv", TASKS["STS-B"], stsb.index,
                              np.array([1.0, np.inf, 2.0, 3.0]))
    # fine-tuning's path: NaN logits (a diverged model) would be argmax'ed to class 0
    logits = np.array([[0.1, 0.2], [np.nan, np.nan], [0.3, 0.1], [0.0, 1.0]])
    with pytest.raises(GlueBenchError, match="the model's scores"):
        record_split(TASKS["RTE"], BENCHMARKS["RTE"], "dev", rte, 100, logits, tmp_path / "p")
    run = RunDir(tmp_path / "run")
    with pytest.raises(GlueBenchError, match=r"RTE\.ci\.accuracy\.1 is nan"):
        run.save_unit({"task": "RTE", "seed": 1, "entries": {
            "RTE": {"score": 50.0, "ci": {"accuracy": [40.0, float("nan")]}}}})
    assert not list(tmp_path.rglob("*.npz")) and not list(tmp_path.rglob("*.tsv"))
    assert not list(tmp_path.rglob("units/*.json"))
    # -inf log-probabilities (first_token: not in the top-k) may be saved beside outputs
    save_outputs(tmp_path / "ok.npz", rte, np.full((4, 2), 0.5),
                 loglikelihoods=np.array([[-1.0, -np.inf]] * 4))
    assert (tmp_path / "ok.npz").is_file()


# ---- item 4: runs resume; nothing is written before a run can start ----------------------

def test_run_settings_compare_by_value_for_every_kind_of_run(tmp_path):
    from gluebench.runs.rundir import RunDir

    header = {"kind": "finetune", "model": "m", "data_source": "d",
              "config": {"splits": ("dev",), "seeds": (1, 2), "lr": 1e-3}}
    run = RunDir(tmp_path / "run")
    run.check_target(overwrite=False)
    run.start(header)
    assert run.start(header) is False          # ('dev',) was saved as ["dev"]: the same
    with pytest.raises(GlueBenchError, match=r"lr: 0.001 -> 0.002"):
        run.start({**header, "config": {**header["config"], "lr": 2e-3}})


@pytest.mark.slow
def test_a_second_prompt_on_the_same_folder_resumes(tiny_models, run_cli, tmp_path):
    out = tmp_path / "run"
    args = ["prompt", "--model", tiny_models["ok"], "--max-eval-examples", "6", "-o", out,
            *COMMON]
    code, _, err = run_cli(*args)
    assert code == 0, err
    first = (out / "predictions" / "dev" / "RTE.tsv").read_text()
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "already done, skipped (resume)" in err
    assert (out / "predictions" / "dev" / "RTE.tsv").read_text() == first


@pytest.mark.parametrize("bad", [["--shots", "100000"], ["--template", "nope"],
                                 ["--shots", "2", "--template", "lm-eval,nope"]])
def test_a_start_that_cannot_run_writes_nothing(tiny_models, run_cli, tmp_path, bad):
    out = tmp_path / "run"
    code, _, err = run_cli("prompt", "--model", tiny_models["ok"], "--max-eval-examples", "4",
                           "-o", out, *COMMON, *bad)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not out.exists()
    code, _, err = run_cli("prompt", "--model", tiny_models["ok"], "--max-eval-examples", "4",
                           "--shots", "2", "-o", out, *COMMON)   # the corrected command
    assert code == 0, err


def _comparable(results: dict) -> dict:
    """What must not depend on an interruption: scores, CIs, seeds, prompts, files."""
    training = {t: {k: v for k, v in facts.items() if k != "per_seed"}
                for t, facts in results["training"].items()}
    return {"tasks": results["tasks"], "training": training, "files": results["files"],
            "spread": results["prompt"]["spread"], "glue": results.get("glue_score")}


@pytest.mark.slow
def test_an_interrupted_prompt_run_resumes_to_the_same_results(tiny_models, run_cli,
                                                               tmp_path, monkeypatch):
    from gluebench.runs.rundir import RunDir

    args = ["--model", tiny_models["ok"], "--max-eval-examples", "8", "--shots", "1",
            "--seeds", "1,2", "--template", "lm-eval,yes-no", *COMMON]
    code, _, err = run_cli("prompt", "-o", tmp_path / "whole", *args)
    assert code == 0, err

    save_unit = RunDir.save_unit
    saved: list[str] = []

    def save_then_interrupt(self, unit):        # Ctrl-C right after the first unit's marker
        save_unit(self, unit)
        saved.append(unit["seed"])
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "save_unit", save_then_interrupt)
    out = tmp_path / "interrupted"
    code, _, err = run_cli("prompt", "-o", out, *args)
    assert code == 2 and "interrupted" in err and len(saved) == 1
    assert not (out / "results.json").exists()
    monkeypatch.setattr(RunDir, "save_unit", save_unit)
    code, _, err = run_cli("prompt", "-o", out, *args)
    assert code == 0, err
    assert f"RTE seed {saved[0]}: already done, skipped (resume)" in err
    whole, resumed = read_json(tmp_path / "whole" / "results.json"), read_json(
        out / "results.json")
    assert _comparable(resumed) == _comparable(whole)
    assert len(whole["prompt"]["spread"]["RTE"]["templates"]) == 2
    for path in (tmp_path / "whole").rglob("*.tsv"):
        assert (out / path.relative_to(tmp_path / "whole")).read_bytes() == path.read_bytes()


# ---- item 8: each task's templates, models that are not causal LMs --------------------------

def test_template_all_uses_each_tasks_own_templates(tiny_models, run_cli, tmp_path):
    from gluebench.benchmark.tasks import TASKS
    from gluebench.lm.templates import templates_for

    out = tmp_path / "run"
    code, _, err = run_cli("prompt", "--model", tiny_models["ok"], "--tasks", "RTE,SST-2",
                           "--template", "all", "--max-eval-examples", "4", "--data-dir",
                           "sample", "--splits", "dev", "--resamples", "20", "--no-progress",
                           "-o", out)
    assert code == 0, err
    spread = read_json(out / "results.json")["prompt"]["spread"]
    for task in ("RTE", "SST-2"):
        assert sorted(spread[task]["templates"]) == sorted(templates_for(TASKS[task]))
    units = sorted(p.name for p in (out / "units").glob("*.json"))
    assert units == sorted(f"{t}-seed{n}.s1.json" for t in ("RTE", "SST-2")
                           for n in templates_for(TASKS[t]))


def _garbage(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 16)
    return path


def _truncated_header(path: Path) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<I", 3) + b"\x01\x00")
    return path


def _bad_metadata(path: Path) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1, 7) + bytes(40))
    return path


@pytest.mark.parametrize("make", [_garbage, _truncated_header, _bad_metadata])
def test_a_damaged_gguf_file_is_one_line_and_no_folder(run_cli, tmp_path, make):
    model = make(tmp_path / "model.gguf")
    out = tmp_path / "run"
    code, _, err = run_cli("prompt", "--model", model, "-o", out, *COMMON)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "model.gguf" in err and not out.exists()


def test_an_encoder_as_model_is_one_line_and_no_folder(run_cli, tmp_path, minilm_path):
    out = tmp_path / "run"
    code, _, err = run_cli("prompt", "--model", minilm_path, "-o", out, *COMMON)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "BertModel" in err and "not a causal language model" in err
    assert not out.exists()


# ---- item 8: the endpoint client against a hostile server ------------------------------------

def _ll_reply(prompt: str) -> dict:
    return echo_reply(prompt, -1.0 if prompt.endswith(" True") else -2.0)


def _ll_shapes() -> dict:
    """Replies to an ``ll`` request that must each be one error naming the request."""
    def mangle(change):
        def reply(prompt):
            doc = _ll_reply(prompt)
            change(doc["choices"][0]["logprobs"])
            return json.dumps(doc).encode()
        return reply

    def set_value(value):
        return mangle(lambda lp: lp["token_logprobs"].__setitem__(1, value))

    return {
        "html": lambda p: b"<html><body>502 Bad Gateway</body></html>",
        "truncated json": lambda p: json.dumps(_ll_reply(p)).encode()[:40],
        "json list": lambda p: b"[1, 2, 3]",
        "choices a string": lambda p: b'{"choices": "none"}',
        "logprobs a list": lambda p: json.dumps(completion([1, 2])).encode(),
        "string log-prob": set_value("-1.5"),
        "bool log-prob": set_value(True),
        "short log-prob list": mangle(lambda lp: lp["token_logprobs"].pop()),
        "offsets not numbers": mangle(lambda lp: lp.__setitem__("text_offset", ["0", "1", "2"])),
        "NaN": lambda p: json.dumps(_ll_reply(p)).replace("-1.0", "NaN").replace(
            "-2.0", "NaN").encode(),
        "-Infinity": lambda p: json.dumps(_ll_reply(p)).replace("-1.0", "-Infinity").replace(
            "-2.0", "-Infinity").encode(),
    }


@pytest.mark.parametrize("kind", list(_ll_shapes()))
def test_a_reply_that_is_not_a_completion_is_one_error_and_never_cached(server, tmp_path,
                                                                         kind):
    make = _ll_shapes()[kind]
    server.respond = lambda handler, body: send(handler, 200, make(body["prompt"]))
    cache = tmp_path / "cache.sqlite"
    client = EndpointBackend(server.url, "m", cache_path=cache, backoff=0.01, concurrency=1)
    with pytest.raises(GlueBenchError) as caught:
        client.loglikelihoods(rte_requests(1))
    message = str(caught.value)
    assert "\n" not in message and "RTE dev example 0" in message, message
    assert cached_rows(cache) == 0


@pytest.mark.parametrize("top", [{" True": "-0.1"}, {" True": float("nan")}, ["x"], "x"])
def test_a_bad_top_logprobs_reply_names_the_request(server, tmp_path, top):
    text = json.dumps(completion({"text_offset": [0], "tokens": ["x"],
                                  "token_logprobs": [-0.1], "top_logprobs": [top]}))
    server.respond = lambda handler, body: send(handler, 200, text.encode())
    cache = tmp_path / "cache.sqlite"
    client = EndpointBackend(server.url, "m", cache_path=cache, concurrency=1)
    with pytest.raises(GlueBenchError, match="RTE dev example 1"):
        client.first_token(rte_requests(2)[1:], top_k=5)
    assert cached_rows(cache) == 0


def test_good_replies_parse_and_are_cached(server, tmp_path):
    server.respond = lambda handler, body: send_json(handler, _ll_reply(body["prompt"]))
    cache = tmp_path / "cache.sqlite"
    scores = EndpointBackend(server.url, "m", cache_path=cache).loglikelihoods(rte_requests())
    assert scores.tolist() == [[-1.0, -2.0]] * 3
    assert cached_rows(cache) == 6


def test_a_reply_over_the_size_cap_is_refused_without_reading_it(server, tmp_path):
    cap = 1 << 20

    def declared_huge(handler, body):        # says 100 MB up front
        send(handler, 200, b'{"choices": [' + b" " * 1000, length=100 * 2**20)

    def streamed_huge(handler, body):        # no length: 64 MiB in 1 MiB chunks
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        block = b" " * 2**20
        for _ in range(64):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            server.sent += len(block)
        handler.wfile.write(b"0\r\n\r\n")

    cache = tmp_path / "cache.sqlite"
    for respond in (declared_huge, streamed_huge):
        server.respond = respond
        client = EndpointBackend(server.url, "m", cache_path=cache, max_response_bytes=cap)
        began = time.monotonic()
        with pytest.raises(GlueBenchError, match="1,048,576"):
            client.generate(["Hello"], 2)
        assert time.monotonic() - began < 10
    assert server.sent < 32 * 2**20            # the client hung up long before the end
    assert cached_rows(cache) == 0


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", ["silent", "trickle"])
def test_a_request_ends_at_its_deadline_whatever_the_server_does(server, tmp_path, behaviour):
    def silent(handler, body):
        server.release.wait(30)

    def trickle(handler, body):          # one byte at a time: a read timeout never fires
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            if server.release.wait(0.1):
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()

    server.respond = silent if behaviour == "silent" else trickle
    client = EndpointBackend(server.url, "m", cache_path=tmp_path / "c.sqlite", timeout=0.5,
                             deadline=2.0, backoff=0.01)
    began = time.monotonic()
    with pytest.raises(GlueBenchError) as caught:
        client.generate(["Hello"], 2)
    assert time.monotonic() - began < 4.0
    assert "\n" not in str(caught.value)
    assert cached_rows(tmp_path / "c.sqlite") == 0


def test_a_dropped_reply_is_retried_and_only_the_whole_one_cached(server, tmp_path):
    calls = []

    def respond(handler, body):
        calls.append(1)
        if len(calls) == 1:                 # promises 1,000 bytes, sends 10, hangs up
            send(handler, 200, b'{"choices"', length=1000)
            return
        send_json(handler, _ll_reply(body["prompt"]))

    server.respond = respond
    cache = tmp_path / "cache.sqlite"
    client = EndpointBackend(server.url, "m", cache_path=cache, backoff=0.01, concurrency=1)
    assert client.loglikelihoods(rte_requests(1)).tolist() == [[-1.0, -2.0]]
    assert client.stats["retries"] == 1 and cached_rows(cache) == 2


def test_an_error_page_is_shown_on_one_line(server):
    server.respond = lambda handler, body: send(
        handler, 400, b"<html>\n<h1>Bad request</h1>\n\x1b[31mno\x1b[0m\n</html>")
    client = EndpointBackend(server.url, "m", backoff=0.01)
    with pytest.raises(GlueBenchError, match="HTTP 400 after 1 tries") as caught:
        client.generate(["Hello"], 2)
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


def test_a_bad_reply_cached_by_an_older_version_is_asked_again(server, tmp_path):
    from gluebench.lm.endpoint import ResponseCache

    server.respond = lambda handler, body: send_json(handler, _ll_reply(body["prompt"]))
    cache_path = tmp_path / "cache.sqlite"
    client = EndpointBackend(server.url, "m", cache_path=cache_path)
    client.loglikelihoods(rte_requests(1))
    cache = ResponseCache(cache_path)
    body = {"model": "m", **server.bodies[0]}
    bad = echo_reply(body["prompt"], 1.0)
    bad["choices"][0]["logprobs"]["token_logprobs"][1] = "oops"
    cache.put(cache.key(client.url, body), bad)
    asked = len(server.bodies)
    again = EndpointBackend(server.url, "m", cache_path=cache_path)
    assert again.loglikelihoods(rte_requests(1)).tolist() == [[-1.0, -2.0]]
    assert len(server.bodies) == asked + 1 and again.stats["cached"] == 1


def test_a_bad_endpoint_port_is_one_line_before_anything_is_written(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("prompt", "--endpoint", "http://127.0.0.1:99999/v1", "-o", out,
                           *COMMON)
    assert code == 2 and "1..65535" in err and not out.exists()


@pytest.mark.parametrize("models", [{"object": "list", "data": []}, {"data": [{"id": 7}]},
                                    "<html>models</html>"])
def test_a_model_list_of_another_shape_is_one_line(server, models):
    server.models = models
    client = EndpointBackend(server.url, None, backoff=0.01)
    with pytest.raises(GlueBenchError, match="the model list") as caught:
        client.generate(["Hello"], 2)
    assert "\n" not in str(caught.value)
    server.models = {"object": "list", "data": [{"id": "served"}]}
    server.respond = lambda handler, body: send_json(handler, completion(None, "yes\nno"))
    assert client.generate(["Hello"], 2) == ["yes"] and client.model == "served"
