"""MLflow: a local store under the run, ``sqlite:///RUN_DIR/mlflow.db`` (MLflow 3 keeps its
``./mlruns`` file store in maintenance mode and refuses it by default), or
``$MLFLOW_TRACKING_URI`` when set. One experiment per run directory, one MLflow run per training
unit and one for the results; read back with ``MlflowClient(tracking_uri=...)``."""

from __future__ import annotations

import os
import time
from pathlib import Path

STORE = "mlflow.db"
MAX_PARAM_CHARS = 500    # MLflow's limit on a parameter's value


def store_uri(run_dir: Path) -> str:
    """Where a run's MLflow data is: ``$MLFLOW_TRACKING_URI``, else its SQLite file."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(run_dir / STORE).resolve()}"


class MlflowRun:
    def __init__(self, client, run_id: str):
        self.client, self.run_id = client, run_id

    def log(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric  # deferred: mlflow

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step)
                                                    for k, v in values.items()])

    def summary(self, values: dict[str, float]) -> None:
        self.log(values, 0)

    def finish(self) -> None:
        self.client.set_terminated(self.run_id)


def open_run(run_dir: Path, *, name: str, group: str, config: dict) -> MlflowRun:
    from mlflow.entities import Param  # deferred: mlflow
    from mlflow.tracking import MlflowClient

    run_dir.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=store_uri(run_dir))
    found = client.get_experiment_by_name(group)
    experiment = found.experiment_id if found else client.create_experiment(group)
    run = client.create_run(experiment, run_name=name)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)[:MAX_PARAM_CHARS])
                                              for k, v in config.items()])
    return MlflowRun(client, run.info.run_id)
