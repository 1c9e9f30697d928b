"""The settings of a prompted run (``gluebench prompt``), saved in ``run.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gluebench.errors import UsageError

SCORING_MODES = ("ll", "first_token", "generate")


@dataclass(frozen=True)
class PromptConfig:
    model: str | None = None           # None: the embedded SmolLM2-135M-Instruct
    gguf_file: str | None = None
    endpoint: str | None = None        # an OpenAI-compatible server instead of a local model
    api_key_env: str | None = None
    template: str = "lm-eval"          # a name, a comma-separated list, or "all"
    shots: int = 0
    seeds: tuple[int, ...] = (1,)      # demonstration draws (few-shot only)
    balanced: bool = False             # label-balanced demonstrations
    scoring: str = "ll"
    calibrate: bool = False
    top_k: int = 20                    # first_token: the log-probabilities an API returns
    max_new_tokens: int = 8            # generate
    max_eval_examples: int | None = None
    data_seed: int = 0
    splits: tuple[str, ...] = ("dev", "test")
    device: str = "auto"
    eval_batch_tokens: int | None = None
    concurrency: int = 8               # endpoint requests in flight

    def __post_init__(self) -> None:
        if self.scoring not in SCORING_MODES:
            raise UsageError(f"unknown scoring '{self.scoring}'; expected one of: "
                             f"{', '.join(SCORING_MODES)}")
        bad = [s for s in self.splits if s not in ("dev", "test")]
        if bad or not self.splits:
            raise UsageError(f"--splits: expected dev and/or test, got '{','.join(self.splits)}'")
        if self.shots < 0:
            raise UsageError("--shots must be 0 or more")
        if self.calibrate and self.scoring == "generate":
            raise UsageError("--calibrate needs choice probabilities: use --scoring ll or "
                             "first_token")
        if self.endpoint and self.gguf_file:
            raise UsageError("--gguf-file is for local models; an --endpoint serves its own")
        if self.api_key_env and not self.endpoint:
            raise UsageError("--api-key-env needs --endpoint")

    @property
    def demo_seeds(self) -> tuple[int, ...]:
        """0-shot has no demonstrations to draw: one run, whatever the seeds."""
        return self.seeds if self.shots else self.seeds[:1]

    def to_dict(self) -> dict:
        return asdict(self)
