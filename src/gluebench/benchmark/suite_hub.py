"""A suite's tasks from the Hugging Face hub (``--data-dir hf``): SuperGLUE's ``super_glue``.

The hub flattens the official JSON-lines records; each hub row is put back into the
official layout here, and the JSONL reader's own path rules (``jsonl_sources``) read it,
so the hub and the files give the same table. What is put back:

* MultiRC: one hub row per answer option, with ``idx = {paragraph, question, answer}``,
  regrouped into ``{"idx", "passage": {"text", "questions": [{"question", "idx",
  "answers": [{"text", "idx", "label"}]}]}}`` (rows of one paragraph are consecutive).
* ReCoRD: one hub row per query, with ``idx = {passage, query}``; ``entity_spans`` ends are
  exclusive on the hub and become the official inclusive ends.
* WSC: the hub's top-level ``span1_index`` ... ``span2_text`` go back under ``target``.
* Labels: the hub's ``ClassLabel`` ids are mapped through their names ("False" -> "false",
  COPA's "choice2" -> 1, MultiRC's "True" -> 1), never by position; -1 (hidden) on a
  labelled split is an error.

What the hub lost and cannot be put back (the table then differs from the files):

* wsc.fixed rewrites span texts that are not substrings of the text (first letter's case
  as in the text, a trailing "." dropped, newlines as spaces: the val file's "The ..." spans
  read "the ..." there), and its "theyscold" fix sets ``span2_index`` to 10;
* ReCoRD: entity spans sorted by start; gold answers as sorted distinct texts (no offsets);
* AX-b has no category columns; AX-g no ``pair_id`` (pairs stay consecutive rows).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from gluebench.benchmark.jsonl_sources import read_records
from gluebench.benchmark.suite import Suite, TaskDef
from gluebench.benchmark.table import ExampleTable
from gluebench.errors import DataError, UsageError

HIDDEN = -1          # the hub's label for a hidden (test) label


def is_hub(data_dir: str | os.PathLike) -> bool:
    """``--data-dir hf`` (the suite's hub dataset) or ``hf:NAME_OR_FOLDER``."""
    text = str(data_dir)
    return text == "hf" or text.startswith("hf:")


def hub_split(suite: Suite, task: TaskDef, key: str, data_dir: str | os.PathLike
              ) -> ExampleTable:
    """The ``key`` split of ``task`` from the hub (``hf``), another hub name or a folder of
    ``save_to_disk`` copies per config (``hf:DIR``: ``DIR/boolq/``, ``DIR/wsc.fixed/``, ...)."""
    spec = task.files[key]
    if task.hf_config is None or spec.hf_split is None:
        raise UsageError(f"{suite.title} {task.name} has no '{key}' split on the hub")
    name = str(data_dir)[3:] or suite.hub
    dataset = _load(name, task.hf_config, spec.hf_split)
    where = f"{name}[{task.hf_config}/{spec.hf_split}]"
    return read_records(task, key, where, official_records(task, dataset, where))


def _load(name: str, config: str, split: str):
    try:
        import datasets  # deferred: a heavy import only --data-dir hf needs
    except ImportError:
        raise UsageError("the Hugging Face source needs the `datasets` package: "
                         "pip install 'gluebench[hf]'") from None
    folder = Path(name) / config
    if not Path(name).is_dir():
        return datasets.load_dataset(name, config, split=split)
    if not folder.is_dir():
        raise DataError(folder, f"no saved dataset for config '{config}'")
    saved = datasets.load_from_disk(str(folder))
    if split not in saved:
        raise DataError(folder, f"no '{split}' split; it has: {', '.join(saved)}")
    return saved[split]


def official_records(task: TaskDef, dataset, where: str) -> Iterator[tuple[int, dict]]:
    """(hub row number, record in the official layout) for each official record."""
    label = _label_mapper(task, dataset, where)
    rows = enumerate(dataset, start=1)
    if task.hf_config == "multirc":
        return _multirc(rows, label)
    if task.hf_config == "record":
        return _record(rows)
    return ((n, _flat(task, row, label(n, row.get("label")))) for n, row in rows)


def _label_mapper(task: TaskDef, dataset, where: str):
    """hub label id -> the official token (None: hidden), through the ClassLabel's names."""
    feature = dataset.features.get("label")
    names = getattr(feature, "names", None)
    tokens = None if names is None else [_token(task, name, where) for name in names]

    def label(row: int, value):
        if value is None or value == HIDDEN:
            return None
        if tokens is None:
            raise DataError(where, "label column has no ClassLabel names; expected "
                            f"{task.name} labels ({', '.join(task.labels)})", row)
        return tokens[value]

    return label


def _token(task: TaskDef, name: str, where: str) -> str:
    for vocabulary in (task.labels, task.label_names):
        folded = [v.lower() for v in vocabulary or ()]
        if name.lower() in folded:
            return task.labels[folded.index(name.lower())]
    raise DataError(where, f"label name '{name}' is not a {task.name} label; expected one "
                    f"of: {', '.join(task.labels)}")


def _flat(task: TaskDef, row: dict, label: str | None) -> dict:
    record = {k: v for k, v in row.items() if k != "label"}
    if task.hf_config in ("wsc", "wsc.fixed"):
        target = ("span1_index", "span2_index", "span1_text", "span2_text")
        record["target"] = {k: record.pop(k) for k in target if k in record}
    if label is not None:
        record["label"] = label
    return record


def _multirc(rows, label) -> Iterator[tuple[int, dict]]:
    """Consecutive answer rows of one paragraph -> the paragraph's nested record."""
    current, first = None, 0
    for n, row in rows:
        idx = row["idx"]
        if current is None or current["idx"] != idx["paragraph"]:
            if current is not None:
                yield first, current
            current, first = {"idx": idx["paragraph"],
                              "passage": {"text": row["paragraph"], "questions": []}}, n
        questions = current["passage"]["questions"]
        if not questions or questions[-1]["idx"] != idx["question"]:
            questions.append({"question": row["question"], "answers": [],
                              "idx": idx["question"]})
        answer = {"text": row["answer"], "idx": idx["answer"]}
        if (token := label(n, row.get("label"))) is not None:
            answer["label"] = int(token)
        questions[-1]["answers"].append(answer)
    if current is not None:
        yield first, current


def _record(rows) -> Iterator[tuple[int, dict]]:
    """Consecutive query rows of one passage -> the passage's record (inclusive ends)."""
    current, first = None, 0
    for n, row in rows:
        idx = row["idx"]
        if current is None or current["idx"] != idx["passage"]:
            if current is not None:
                yield first, current
            current, first = {"idx": idx["passage"], "qas": [], "passage": {
                "text": row["passage"], "entities": _entities(row["entity_spans"])}}, n
        qa = {"query": row["query"], "idx": idx["query"]}
        if row.get("answers"):
            qa["answers"] = [{"text": text} for text in row["answers"]]
        current["qas"].append(qa)
    if current is not None:
        yield first, current


def _entities(spans) -> list[dict]:
    """The hub's entity spans (a dict of lists, or a list of dicts) with inclusive ends."""
    if isinstance(spans, dict):
        spans = [dict(zip(spans, values, strict=True)) for values in zip(*spans.values(),
                                                                          strict=True)]
    return [{"start": span["start"], "end": span["end"] - 1} for span in spans]
