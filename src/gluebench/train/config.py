"""The fine-tuning recipe as one typed config: visible defaults, a config file, CLI flags.

Precedence: the defaults below < a config file (TOML or JSON, keys are field names)
< command-line flags. The resolved config is saved with every run. ``None`` for
``learning_rate`` and ``epochs`` means "choose for this model and task" (see
``resolved_learning_rate`` and ``resolved_epochs``): the default recipe.

Studies own their knobs (``train.hooks``): each registered study's settings dataclass adds
flat settings beside ``TrainConfig``'s own fields (in files, flags, sweep specs and the
recorded config); ``build_config`` reads them into ``TrainConfig.studies``.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal, get_args

from gluebench.errors import UsageError
from gluebench.formats.fields import quote
from gluebench.train.diet import DataDietSettings
from gluebench.train.distillation import DistillSettings
from gluebench.train.hooks import ComposedHooks, register_study, studies
from gluebench.train.pruning import LayerDropSettings
from gluebench.train.reporting import ReportSettings

Method = Literal["full", "lora", "bitfit", "layernorm", "head", "probe"]
Schedule = Literal["linear", "cosine", "constant"]
Precision = Literal["auto", "fp32", "bf16"]
Device = Literal["auto", "cpu", "cuda"]

# The default recipe. Small encoders want a larger learning rate than BERT-base's 2e-5:
# run_glue's 2e-5 leaves all-MiniLM-L6-v2 at CoLA MCC 19 (environment notes). We scale
# with width: 1e-4 at hidden 384 (MiniLM), 3.5e-5 at 768 (base), 2.3e-5 at 1024 (large).
FULL_LR_AT_384 = 1e-4
FULL_LR_WIDTH_POWER = 1.5
# Parameter-efficient methods train few parameters and need larger steps (LoRA paper: 4e-4 to
# 5e-4 on GLUE; BitFit paper: 1e-4 to 1e-3).
METHOD_LR = {"lora": 5e-4, "bitfit": 1e-3, "layernorm": 1e-3, "head": 2e-3}
# Inference batches by device (measured): a GPU wants large batches (1024 beat 4096 on an
# H100); two CPU cores run fastest with small ones (STS-B dev: 219 ex/s at 64 x 4096 tokens,
# 96 ex/s at 512 x 65536).
EVAL_BATCH = {"cuda": (1024, 65_536), "cpu": (64, 4_096)}
# Small training sets need more passes to converge; large ones do not.
EPOCHS_BY_TRAIN_SIZE = ((5_000, 10.0), (20_000, 5.0), (math.inf, 3.0))


@dataclass
class TrainConfig:
    """Hyperparameters and engine settings of ``gluebench finetune`` (one run, all tasks)."""

    model: str | None = field(default=None, metadata={
        "help": "model folder or hub name (default: the embedded all-MiniLM-L6-v2)"})
    method: Method = field(default="full", metadata={
        "help": "what is trained: all weights, LoRA adapters, biases, LayerNorms, the head, "
                "or (probe) scikit-learn heads on frozen sentence embeddings"})
    learning_rate: float | None = field(default=None, metadata={
        "help": "peak learning rate (default: by method and model width)"})
    epochs: float | None = field(default=None, metadata={
        "help": "passes over the training data (default: 10/5/3 by training-set size)"})
    batch_size: int = field(default=32, metadata={"help": "training batch size"})
    max_seq_length: int = field(default=128, metadata={"help": "truncate inputs to this length"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps warming up"})
    schedule: Schedule = field(default="linear", metadata={"help": "learning-rate decay"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping norm"})
    seeds: tuple[int, ...] = field(default=(1,), metadata={
        "help": "training seeds, comma-separated: each task is trained once per seed"})
    max_train_examples: int | None = field(default=None, metadata={
        "help": "train on a seeded subsample of this many examples per task"})
    max_eval_examples: int | None = field(default=None, metadata={
        "help": "evaluate dev on a seeded subsample of this many examples (labelled as such)"})
    data_seed: int = field(default=0, metadata={"help": "seed of the subsamples"})
    holdout_fraction: float | None = field(default=None, metadata={
        "help": "hold out this share of the training examples (seeded by data_seed), train on "
                "the rest and score the held-out part: model selection without dev"})
    splits: tuple[str, ...] = field(default=("dev", "test"), metadata={
        "help": "splits to predict: dev (scored), test (submission files)"})
    eval_batch_size: int | None = field(default=None, metadata={
        "help": "largest inference batch (default: 1024 on a GPU, 64 on a CPU)"})
    eval_batch_tokens: int | None = field(default=None, metadata={
        "help": "inference token budget per batch, batch x padded length "
                "(default: 65536 on a GPU, 4096 on a CPU)"})
    length_grouping: bool = field(default=True, metadata={
        "help": "batch training examples of similar length (less padding)"})
    pad_to_max_length: bool = field(default=False, metadata={
        "help": "pad every batch to max_seq_length, as run_glue.py does (for comparisons)"})
    precision: Precision = field(default="auto", metadata={
        "help": "auto: bf16 on a GPU that has it, else fp32"})
    compile: bool = field(default=False, metadata={"help": "torch.compile the model"})
    int8: bool = field(default=False, metadata={
        "help": "probe: embed with the int8 dynamic-quantised encoder (CPU)"})
    device: Device = field(default="auto", metadata={"help": "auto: cuda when available"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scaling numerator"})
    lora_dropout: float = field(default=0.1, metadata={"help": "LoRA dropout"})
    save_checkpoints: bool = field(default=True, metadata={
        "help": "save each fine-tuned model under RUN_DIR/checkpoints"})
    studies: tuple = field(default=(), metadata={
        "help": "the settings of each study this run trains with (train.hooks), in "
                "registration order; their fields are flat settings of their own"})

    def to_dict(self) -> dict:
        """The flat settings: TrainConfig's fields, then each study's (``recorded_studies``)."""
        own = {f.name: _plain(getattr(self, f.name)) for f in fields(self)
               if f.name != "studies"}
        for settings in recorded_studies(self):
            own.update({f.name: _plain(getattr(settings, f.name)) for f in fields(settings)})
        return own

    def study(self, kind: type):
        """This run's settings of study ``kind`` (its defaults when the run does not use it)."""
        return next((s for s in self.studies if isinstance(s, kind)), None) or kind()

    def hooks(self) -> ComposedHooks:
        """The studies' hooks into training, composed in registration order."""
        return ComposedHooks(h for s in self.studies if (h := s.hooks()) is not None)

    def resolved_learning_rate(self, hidden_size: int) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        if self.method != "full":
            return METHOD_LR[self.method]
        return FULL_LR_AT_384 * (384 / hidden_size) ** FULL_LR_WIDTH_POWER

    def resolved_epochs(self, n_train: int) -> float:
        if self.epochs is not None:
            return self.epochs
        return next(e for limit, e in EPOCHS_BY_TRAIN_SIZE if n_train < limit)


# The studies that were TrainConfig fields, in the order they were; a new study registers
# its own settings class (``train.hooks.register_study``) from its own module.
for _study in (LayerDropSettings, DataDietSettings, DistillSettings, ReportSettings):
    register_study(_study)


def _plain(value):
    """A value as JSON records it: tuples as lists."""
    return list(value) if isinstance(value, tuple) else value


def recorded_studies(config: TrainConfig) -> list:
    """The study settings a run records: those it sets, and those recorded by default."""
    given = {type(s): s for s in config.studies}
    return [given.get(kind) or kind() for kind in studies()
            if kind in given or kind.record_defaults]


def _study_of(name: str) -> type | None:
    """The registered study that owns setting ``name``, if any."""
    return next((kind for kind in studies() if name in {f.name for f in fields(kind)}), None)


class _Settings(Mapping):
    """Every flat setting's dataclass field by name: TrainConfig's own, then each study's.

    Live: a study registered later (``register_study``) is found without re-importing.
    """

    def _all(self) -> dict:
        out = {f.name: f for f in fields(TrainConfig) if f.name != "studies"}
        for kind in studies():
            for f in fields(kind):
                if f.name in out:
                    raise ValueError(f"study {kind.name!r}: setting {f.name!r} is already "
                                     "a setting of the run")
                out[f.name] = f
        return out

    def __getitem__(self, name: str):
        return self._all()[name]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


FIELDS = _Settings()
SEED_LIMIT = 2**32   # numpy's and torch's seeds are unsigned 32-bit


def parse_seed(text) -> int:
    """A seed from a flag or a file: ASCII digits only, 0 <= seed < 2**32."""
    if isinstance(text, bool) or not (isinstance(text, int) or (
            isinstance(text, str) and text.strip().isascii() and text.strip().isdigit())):
        raise ValueError(f"expected a whole number 0 <= seed < 2**32, got {quote(str(text))}")
    value = int(text)
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(f"expected a whole number 0 <= seed < 2**32, got {value}")
    return value


def _hint(name: str):
    """The type annotation of setting ``name`` (a TrainConfig field or a study's)."""
    kind = _study_of(name) or TrainConfig
    return typing.get_type_hints(kind)[name]


def coerce(name: str, value, where: str, *, strict: bool = False) -> object:
    """``value`` (from a file or a flag) as the type of field ``name``; UsageError if it isn't.

    Flags arrive as text and are parsed. With ``strict`` (values from a TOML/JSON file) a
    value must already have the field's type: ``true`` is not a number, ``"32"`` is not an
    integer, ``1.5`` is not a whole number.
    """
    hint = _hint(name)
    args = [a for a in get_args(hint) if a is not type(None)]
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        if type(None) in get_args(hint):
            return None
        raise UsageError(f"{where}: '{name}' cannot be empty")
    base = args[0] if args and typing.get_origin(hint) in (typing.Union, types.UnionType) \
        else hint
    try:
        if strict:
            _check_file_type(base, value)
        if typing.get_origin(base) is Literal:
            if value not in get_args(base):
                raise ValueError(f"expected one of: {', '.join(get_args(base))}")
            return value
        if typing.get_origin(base) is tuple:
            items = value.split(",") if isinstance(value, str) else list(value)
            item_type = get_args(base)[0]
            parse = parse_seed if name == "seeds" else item_type
            out = tuple(parse(str(v).strip()) for v in items if str(v).strip())
            if not out:
                raise ValueError("expected at least one value")
            return out
        if base is bool:
            return _boolean(value)
        if base is int:
            return _whole_number(value)
        if base is float:
            return _finite_number(value)
        return base(value)
    except (TypeError, ValueError) as exc:
        shown = quote(value) if isinstance(value, str) else repr(value)[:80]
        raise UsageError(f"{where}: bad value {shown} for '{name}': {exc}") from None


def _check_file_type(base, value) -> None:
    """A file's value must have the field's own type (TOML and JSON have typed values)."""
    if typing.get_origin(base) is tuple:
        ok = isinstance(value, (list, str)) and all(
            isinstance(v, (int, str)) and not isinstance(v, bool)
            for v in (value if isinstance(value, list) else []))
    elif base is bool:
        ok = isinstance(value, bool)
    elif base is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:  # str and Literal fields
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"expected {_type_name(base)}, got a {_json_type(value)}")


def _type_name(base) -> str:
    if typing.get_origin(base) is Literal:
        return "one of: " + ", ".join(get_args(base))
    if typing.get_origin(base) is tuple:
        return "a list"
    return {bool: "true or false", int: "a whole number", float: "a number",
            str: "a string"}.get(base, str(base))


def _json_type(value) -> str:
    return {bool: "boolean", int: "whole number", float: "number", str: "string",
            list: "list", dict: "table"}.get(type(value), type(value).__name__)


def _whole_number(value) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("expected a whole number")
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise ValueError("expected a whole number (digits only)")
    return int(text)


def _finite_number(value) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or "_" in text or text.lower().lstrip("+-") in (
                "nan", "inf", "infinity"):
            raise ValueError("expected a finite number")
        value = text
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def read_config_file(path: str | os.PathLike) -> dict:
    """The settings in a TOML or JSON file, keys checked against ``TrainConfig``."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: config file not found")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                         f"offset {exc.start}); save the config as UTF-8") from None
    try:
        if path.suffix == ".json":
            raw = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            raw = tomllib.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise UsageError(f"{path}: not valid {kind}: {first}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a table of settings at the top level")
    settings = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in FIELDS:
            close = difflib.get_close_matches(name, list(FIELDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"{path}: unknown key {quote(str(key))}.{hint} Known: "
                             f"{', '.join(FIELDS)}")
        settings[name] = coerce(name, value, str(path), strict=True)
    return settings


def build_config(file: str | os.PathLike | None = None, **overrides) -> TrainConfig:
    """Defaults, then ``file``'s settings, then ``overrides`` (flags; ``None`` = not given)."""
    settings = read_config_file(file) if file else {}
    for name, value in overrides.items():
        if value is not None:
            settings[name] = coerce(name, value, f"--{name.replace('_', '-')}")
    config = _from_settings(settings)
    _check(config)
    return config


def _from_settings(settings: dict) -> TrainConfig:
    """A TrainConfig from flat settings: each study's fields go to its settings dataclass.

    A study whose settings are all defaults is left out, so a run without studies has
    ``studies == ()`` however its settings were written.
    """
    own, by_study = {}, {}
    for name, value in settings.items():
        kind = _study_of(name)
        if kind is None:
            own[name] = value
        else:
            by_study.setdefault(kind, {})[name] = value
    chosen = tuple(kind(**by_study[kind]) for kind in studies() if kind in by_study)
    return TrainConfig(**own, studies=tuple(s for s in chosen if s != type(s)()))


# Ranges a value must fall in: (lowest, highest, whether the lowest is allowed).
RANGES = {
    "learning_rate": (0.0, 10.0, False),
    "epochs": (0.0, 10_000.0, False),
    "warmup_ratio": (0.0, 1.0, True),
    "weight_decay": (0.0, 10.0, True),
    "max_grad_norm": (0.0, 1e6, False),
    "lora_dropout": (0.0, 1.0, True),
    "holdout_fraction": (0.0, 1.0, False),
}
POSITIVE = ("batch_size", "max_seq_length", "eval_batch_size", "eval_batch_tokens", "lora_r",
            "lora_alpha", "max_train_examples", "max_eval_examples")
# Larger than any real setting; guards against a typo that would allocate forever.
MAX_COUNT = 10**9


def _check(config: TrainConfig) -> None:
    for name in POSITIVE:
        value = getattr(config, name)
        if value is not None and not 1 <= value <= MAX_COUNT:
            raise UsageError(f"'{name}' must be a whole number from 1 to {MAX_COUNT}, "
                             f"got {value}")
    for name, (low, high, low_ok) in RANGES.items():
        value = getattr(config, name)
        if value is None:
            continue
        inside = (low <= value if low_ok else low < value) and value < high
        if not (math.isfinite(value) and inside):
            bracket = "[" if low_ok else "("
            raise UsageError(f"'{name}' must be in {bracket}{low:g}, {high:g}), got {value}")
    if not 0 <= config.data_seed < SEED_LIMIT:
        raise UsageError(f"'data_seed' must be 0 <= seed < 2**32, got {config.data_seed}")
    bad = [s for s in config.splits if s not in ("dev", "test")]
    if bad:
        raise UsageError(f"unknown split {quote(str(bad[0]))} in 'splits'; "
                         "expected dev and/or test")
    if config.int8 and config.method != "probe":
        raise UsageError("--int8 applies to --method probe (a frozen encoder) only")
    for settings in config.studies:
        settings.check()
    if len(set(config.seeds)) != len(config.seeds):
        raise UsageError(f"'seeds' repeats a seed: {','.join(map(str, config.seeds))}")

