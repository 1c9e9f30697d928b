"""GLUE from Hugging Face ``datasets`` (the hub's ``nyu-mll/glue``, or a local copy).

Label ids are mapped through the dataset's own ``ClassLabel`` names, so a copy
whose label order differs from ours is read correctly or refused, never
silently permuted.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from gluebench.benchmark.examples import Examples
from gluebench.benchmark.tasks import Task
from gluebench.errors import DataError, GlueBenchWarning, UsageError

HUB_NAME = "nyu-mll/glue"

def hf_split_name(task: Task, split: str) -> str | None:
    """The hub's name for our split key (``hf_split`` in the definition: MNLI's
    ``validation_matched``, ...); None where the hub lacks it (AX's labelled copy)."""
    spec = task.files.get(split)
    return spec.hf_split if spec is not None else None


class HFSource:
    """GLUE through ``datasets``: a hub name, or a folder of ``save_to_disk`` copies per config.

    A local folder holds one ``DatasetDict`` per config: ``DIR/rte/``, ``DIR/mnli/``, ...
    """

    def __init__(self, name_or_path: str | os.PathLike | None = None):
        try:
            import datasets  # noqa: F401
        except ImportError:
            raise UsageError("the Hugging Face source needs the `datasets` package: "
                             "pip install 'gluebench[hf]'") from None
        self.name = str(name_or_path or HUB_NAME)
        self.local = Path(self.name).is_dir()
        self.description = f"Hugging Face datasets: {self.name}"
        self._cache: dict[str, object] = {}

    def _dataset_dict(self, task: Task):
        import datasets

        if task.hf_config not in self._cache:
            if self.local:
                path = Path(self.name) / task.hf_config
                if not path.is_dir():
                    raise DataError(path, f"no saved dataset for {task.name} (config "
                                    f"'{task.hf_config}')")
                self._cache[task.hf_config] = datasets.load_from_disk(str(path))
            else:
                self._cache[task.hf_config] = datasets.load_dataset(self.name, task.hf_config)
        return self._cache[task.hf_config]

    def has(self, task: Task, split: str) -> bool:
        name = hf_split_name(task, split)
        if name is None:
            return False
        if self.local and not (Path(self.name) / task.hf_config).is_dir():
            return False
        return name in self._dataset_dict(task)

    def load(self, task: Task, split: str) -> Examples:
        name = hf_split_name(task, split)
        dd = self._dataset_dict(task)
        where = f"{self.name}[{task.hf_config}/{name}]"
        if name is None or name not in dd:
            raise DataError(where, f"{task.name} has no '{split}' split in this dataset")
        ds = dd[name]
        missing = [c for c in task.hf_fields if c not in ds.column_names]
        if missing:
            raise DataError(where, f"missing column(s) {', '.join(missing)}; "
                            f"dataset has: {', '.join(ds.column_names)}")
        inputs = {f: list(ds[c]) for f, c in zip(task.input_fields, task.hf_fields, strict=True)}
        index = np.asarray(ds["idx"] if "idx" in ds.column_names else range(len(ds)), np.int64)
        labels = _labels(task, ds, where) if "label" in ds.column_names else None
        if len(ds) != task.files[split].size:
            warnings.warn(f"{where}: {len(ds)} examples, but the official {task.name} {split} "
                          f"set has {task.files[split].size}", GlueBenchWarning, stacklevel=2)
        return Examples(task, split, where, index, inputs, labels)


def _labels(task: Task, ds, where: str) -> np.ndarray | None:
    raw = np.asarray(ds["label"])
    if raw.dtype.kind not in "iuf":
        raise DataError(where, f"label column holds {raw.dtype} values, not class ids or scores")
    if len(raw) and (raw == -1).all():
        return None  # hidden test labels (the hub marks them -1, STS-B included)
    if task.is_regression:
        return raw.astype(np.float64)
    if (raw < 0).any():
        row = int(np.argmax(raw < 0))
        raise DataError(where, f"row {row}: label {raw[row]} (hidden) in a labelled split")
    feature = ds.features["label"]
    names = getattr(feature, "names", None)
    if names is None:
        raise DataError(where, "label column has no ClassLabel names; cannot map ids to "
                        f"{task.name} labels ({', '.join(task.label_names)}) safely")
    unknown = [n for n in names if n not in task.label_names]
    if unknown:
        raise DataError(where, f"label names {unknown} are not {task.name} labels "
                        f"({', '.join(task.label_names)})")
    to_ours = np.asarray([task.label_names.index(n) for n in names], np.int64)
    return to_ours[raw.astype(np.int64)]
