"""The OpenAI-compatible client against a real HTTP server speaking vLLM's completions format.

No LM server can be installed here, so the server is a small ``http.server`` that answers
``/v1/completions`` in the documented vLLM/OpenAI schema (echoed ``text_offset``,
``token_logprobs``, ``top_logprobs``), computed with a local model (``tiny_lm``: random
weights, SmolLM2's tokenizer) — so the client's log-likelihoods can be checked against the
local backend — plus one recorded response file, rate limits (429), server errors (503) and
a server that cannot echo.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from gluebench.errors import GlueBenchError, UsageError
from gluebench.lm.endpoint import EndpointBackend, _continuation_logprob, completions_url
from gluebench.lm.requests import Request

RECORDED = Path(__file__).parent / "fixtures" / "lm" / "vllm_echo_response.json"


class FakeVLLM:
    """State of the fake server: what it answers, what it saw."""

    def __init__(self, backend):
        self.backend = backend
        self.fail_first: list[int] = []     # statuses to return before answering
        self.echo = True
        self.bodies: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self.model_lock = threading.Lock()

    def completion(self, body: dict) -> dict:
        import torch

        tok, model = self.backend.tokenizer, self.backend.model
        prompt = body["prompt"]
        k = int(body.get("logprobs") or 0)
        if not k:   # plain generation
            with self.model_lock:
                text = self.backend.generate([prompt], body["max_tokens"])[0]
            return self._reply(body, text, None, 0)
        ids = tok.encode(prompt)
        with self.model_lock, torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
        top = logprobs[-1].topk(k)
        gen = int(top.indices[0])
        gen_top = {tok.decode([int(i)]): float(v)
                   for v, i in zip(top.values, top.indices, strict=True)}
        gen_entry = ([tok.decode([gen])], [float(top.values[0])], [gen_top])
        if body.get("echo") and self.echo:
            # vLLM: text_offset = length of the detokenised text before each token
            offsets = [len(tok.decode(ids[:i])) for i in range(len(ids))]
            tokens = [tok.decode(ids[:i + 1])[offsets[i]:] for i in range(len(ids))]
            token_lp = [None] + [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]
            tops = [None] + [{tokens[i]: token_lp[i]} for i in range(1, len(ids))]
            lp = {"text_offset": offsets + [len(prompt)], "tokens": tokens + gen_entry[0],
                  "token_logprobs": token_lp + gen_entry[1], "top_logprobs": tops + gen_entry[2]}
            return self._reply(body, prompt + gen_entry[0][0], lp, len(ids))
        lp = {"text_offset": [len(prompt)], "tokens": gen_entry[0],
              "token_logprobs": gen_entry[1], "top_logprobs": gen_entry[2]}
        return self._reply(body, gen_entry[0][0], lp, len(ids))

    @staticmethod
    def _reply(body: dict, text: str, logprobs: dict | None, n_prompt: int) -> dict:
        return {"id": "cmpl-test", "object": "text_completion", "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "text": text, "logprobs": logprobs,
                             "finish_reason": "length", "stop_reason": None}],
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": 1,
                          "total_tokens": n_prompt + 1}}


def _handler(state: FakeVLLM):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, doc: dict, headers=()):
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._send(200, {"object": "list", "data": [{"id": "smollm2", "object": "model"}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.bodies.append(body)
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
                status = state.fail_first.pop(0) if state.fail_first else 200
            time.sleep(0.02)     # let concurrent requests overlap
            if status != 200:
                reply = (status, {"error": {"message": "slow down", "code": status}},
                         [("Retry-After", "0")] if status == 429 else [])
            elif self.path != "/v1/completions":
                reply = (404, {"error": {"message": "not found"}}, [])
            else:
                reply = (200, state.completion(body), [])
            # Out of flight before the answer goes out: once the client has read it, it may send
            # its next request before this thread would have got back to count this one done.
            with state.lock:
                state.in_flight -= 1
            self._send(*reply)

    return Handler


@pytest.fixture()
def server(tiny_lm):
    state = FakeVLLM(tiny_lm)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield state
    httpd.shutdown()
    httpd.server_close()


def top_k_seeing_every_request(backend, requests: list[Request]) -> int:
    """The smallest k = 20 * 2**i whose local top-k holds a choice of every request: a trained
    model ranks the answers within 20 (vLLM's default cap), random weights anywhere."""
    k = 20
    while not np.isfinite(backend.first_token(requests, top_k=k)).any(axis=1).all():
        k *= 2
    return k


REQUESTS = [Request("The cat sat on the mat.\nQuestion: The cat is sitting. True or False?\n"
                    "Answer:", (" True", " False")),
            Request("It rained all day.\nQuestion: The ground is dry. True or False?\n"
                    "Answer:", (" True", " False"))]


def test_recorded_vllm_echo_response_parses():
    reply = json.loads(RECORDED.read_text())
    context, continuation = "Is it raining?\nAnswer:", " yes"
    assert _continuation_logprob(reply, len(context), len(context + continuation)) == -1.5
    assert completions_url("http://h:8000") == "http://h:8000/v1/completions"
    assert completions_url("http://h:8000/v1/") == "http://h:8000/v1/completions"


@pytest.mark.slow
def test_ll_through_the_server_equals_the_local_model(server, tiny_lm, tmp_path):
    client = EndpointBackend(server.url, cache_path=tmp_path / "cache.sqlite", concurrency=3)
    remote = client.loglikelihoods(REQUESTS)
    assert np.allclose(remote, tiny_lm.loglikelihoods(REQUESTS), atol=2e-4)
    assert client.model == "smollm2"          # asked /v1/models
    sent = server.bodies[0]
    assert sent["echo"] is True and sent["logprobs"] == 1 and sent["max_tokens"] == 1
    # first_token: the server's top-k token texts, matched to the choices
    k = top_k_seeing_every_request(tiny_lm, REQUESTS)
    top = client.first_token(REQUESTS, top_k=k)
    local = tiny_lm.first_token(REQUESTS, top_k=k)
    seen = np.isfinite(local)
    assert seen.any() and (top[seen] >= local[seen] - 2e-4).all()
    assert (top.argmax(1) == local.argmax(1)).all()


def test_retries_on_429_and_5xx_then_caches_so_a_rerun_pays_nothing(server, tmp_path):
    server.fail_first = [429, 503]
    cache = tmp_path / "cache.sqlite"
    client = EndpointBackend(server.url, "smollm2", cache_path=cache, backoff=0.01)
    first = client.loglikelihoods(REQUESTS)
    assert client.stats["retries"] == 2
    sent = len(server.bodies)
    again = EndpointBackend(server.url, "smollm2", cache_path=cache)   # an interrupted run resumes
    assert np.array_equal(again.loglikelihoods(REQUESTS), first)
    assert len(server.bodies) == sent and again.stats["cached"] == 4


def test_concurrency_is_bounded(server, tmp_path):
    many = REQUESTS * 6
    client = EndpointBackend(server.url, "smollm2", concurrency=2)
    client.first_token(many, top_k=5)
    assert 1 < server.max_in_flight <= 2


def test_a_server_that_cannot_echo_says_which_modes_it_can_do(server):
    server.echo = False
    client = EndpointBackend(server.url, "smollm2")
    with pytest.raises(UsageError, match="cannot do --scoring ll; use first_token or generate"):
        client.loglikelihoods(REQUESTS[:1])
    k = top_k_seeing_every_request(server.backend, REQUESTS[:1])
    assert np.isfinite(client.first_token(REQUESTS[:1], top_k=k)).any()


def test_client_errors_fail_fast_with_the_servers_message(server):
    server.fail_first = [400]
    client = EndpointBackend(server.url, "smollm2", backoff=0.01)
    with pytest.raises(GlueBenchError, match="HTTP 400 after 1 tries"):
        client.generate(["Hello"], 2)


def test_prompt_cli_through_the_endpoint_matches_the_local_run(server, run_cli, tmp_path,
                                                               monkeypatch, tiny_llama):
    monkeypatch.setenv("TEST_KEY", "secret")
    common = ["--tasks", "RTE", "--data-dir", "sample", "--max-eval-examples", "8",
              "--splits", "dev", "--resamples", "20", "--no-progress"]
    code, _, err = run_cli("prompt", "--endpoint", server.url, "--model", "smollm2",
                           "--api-key-env", "TEST_KEY", "-o", tmp_path / "remote", *common)
    assert code == 0, err
    code, _, err = run_cli("prompt", "--model", tiny_llama, "-o", tmp_path / "local", *common)
    assert code == 0, err
    remote = (tmp_path / "remote" / "predictions" / "dev" / "RTE.tsv").read_text()
    assert remote == (tmp_path / "local" / "predictions" / "dev" / "RTE.tsv").read_text()
    assert (tmp_path / "remote" / "endpoint-cache.sqlite").is_file()
    code, _, err = run_cli("prompt", "--endpoint", server.url, "--api-key-env", "NOPE_UNSET",
                           "-o", tmp_path / "x", *common)
    assert code == 2 and "NOPE_UNSET" in err and not (tmp_path / "x").exists()
