"""``gluebench finetune``'s entry point: a recipe (``TrainConfig``) run by the method it names.

The fine-tuning methods (full, LoRA, BitFit, ...: ``train.methods``) run in ``train.runner``;
``--method probe`` keeps the encoder frozen and fits scikit-learn heads instead
(``probe.run``): the same run directory, scored the same way. Everything that runs a recipe
(the CLI, a sweep's trials, ``gluebench run``) comes through here, so neither method imports
the other.
"""

from __future__ import annotations

from gluebench.benchmark.sources import DataSource
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Suite
from gluebench.errors import UsageError
from gluebench.probe.run import probe
from gluebench.probe.suite_run import suite_probe
from gluebench.train import runner, suite_runner
from gluebench.train.config import TrainConfig
from gluebench.train.reporting import ReportSettings


def finetune(source: DataSource, config: TrainConfig, out_dir, tasks_spec: str | None = "all",
             *, overwrite: bool = False, progress: bool | None = None,
             n_resamples: int = DEFAULT_RESAMPLES, stats_seed: int = 0) -> dict:
    """Run ``config`` on every task x seed, resumably, by its method; returns ``results.json``."""
    if config.method == "probe" and config.study(ReportSettings).report_to:
        raise UsageError("--report-to records fine-tuning (loss per step); --method probe fits "
                         "scikit-learn heads in one go: leave --report-to out")
    method = probe if config.method == "probe" else runner.finetune
    return method(source, config, out_dir, tasks_spec, overwrite=overwrite, progress=progress,
                  n_resamples=n_resamples, stats_seed=stats_seed)


def finetune_suite(suite: Suite, data_dir, config: TrainConfig, out_dir,
                   tasks_spec: str | None = "all", *, overwrite: bool = False,
                   progress: bool | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                   stats_seed: int = 0) -> dict:
    """``finetune --suite``: ``config`` on a suite's tasks x seeds: fine-tuning
    (``train.suite_runner``), or the frozen-encoder probe (``probe.suite_run``)."""
    if config.method != "probe":
        return suite_runner.finetune_suite(suite, data_dir, config, out_dir, tasks_spec,
                                           overwrite=overwrite, progress=progress,
                                           n_resamples=n_resamples, stats_seed=stats_seed)
    return suite_probe(suite, data_dir, config, out_dir, tasks_spec, overwrite=overwrite,
                       progress=progress, n_resamples=n_resamples, stats_seed=stats_seed)
