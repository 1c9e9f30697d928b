"""TensorBoard: event files under ``RUN_DIR/tensorboard/<unit>/`` (``tensorboard --logdir``)."""

from __future__ import annotations

from pathlib import Path

FOLDER = "tensorboard"


class TensorBoardRun:
    def __init__(self, folder: Path, config: dict):
        from torch.utils.tensorboard import SummaryWriter  # deferred: torch, tensorboard

        self.writer = SummaryWriter(log_dir=str(folder))
        self.last_step = 0
        # The resolved config as a text summary (TensorBoard's hparams need a metric to pair).
        rows = "\n".join(f"| {k} | {v} |" for k, v in config.items())
        self.writer.add_text("config", f"| setting | value |\n|---|---|\n{rows}", 0)

    def log(self, values: dict[str, float], step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)
        self.last_step = max(self.last_step, step)

    def summary(self, values: dict[str, float]) -> None:
        self.log(values, self.last_step)

    def finish(self) -> None:
        self.writer.close()


def open_run(run_dir: Path, *, name: str, group: str, config: dict) -> TensorBoardRun:
    return TensorBoardRun(run_dir / FOLDER / name, config)
