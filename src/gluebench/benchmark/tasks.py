"""The GLUE tasks as data: files, columns, labels, metrics, official sizes.

Two kinds of records live here:

* ``Task`` — one GLUE dataset as it is shipped (``MNLI`` with its five files).
  A model is trained per task.
* ``Benchmark`` entries — the 11 things the official server scores, one
  submission file each (``MNLI-m`` and ``MNLI-mm`` are two entries of ``MNLI``;
  ``AX`` is scored with an MNLI model).

Labels are listed in the official order, which is also the Hugging Face
``datasets`` order (``ClassLabel`` id ``i`` is ``labels[i]``). Note the traps:
RTE and QNLI put ``entailment`` first, WNLI puts it second, and MNLI's order
differs across codebases — ours is entailment, neutral, contradiction.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from gluebench.errors import UsageError
from gluebench.formats.fields import parse_number, quote


@dataclass(frozen=True)
class SplitFile:
    """One official file: where it lives and how to read it."""

    path: str                          # relative to the GLUE data directory
    size: int                          # official number of examples
    text_columns: tuple[str, ...]      # official column names of the inputs
    label_column: str | None = None    # None: no gold labels (test files)
    index_column: str | None = None    # None: the 0-based row position is the index
    header: tuple[str, ...] | None = None  # set for files without a header line (CoLA)


@dataclass(frozen=True)
class Task:
    """A GLUE dataset: what a model sees and what it predicts."""

    name: str
    description: str
    input_fields: tuple[str, ...]      # our names for the inputs, e.g. ("premise", "hypothesis")
    labels: tuple[str, ...] | None     # prediction vocabulary, official order; None: regression
    label_names: tuple[str, ...] | None  # human-readable names of `labels`
    files: dict[str, SplitFile]        # "train", "dev", "test", "dev_mismatched", ...
    hf_config: str                     # config of the Hugging Face `nyu-mll/glue` dataset
    hf_fields: tuple[str, ...]         # the HF dataset's column names for `input_fields`

    @property
    def is_regression(self) -> bool:
        return self.labels is None

    def parse_label(self, value: str, what: str = "label") -> int | float:
        """A label string as a class id into ``labels`` (a finite float for STS-B).

        Strict: the exact official spelling, no surrounding spaces; a score is a plain
        decimal (see ``gluebench.formats.fields``). Raises ValueError saying what was expected;
        ``what`` names the value in it.
        """
        if self.labels is None:
            return parse_number(value, what)
        if value in self.labels:
            return self.labels.index(value)
        if value.strip() in self.labels:
            raise ValueError(f"label {quote(value)} has whitespace around it; expected exactly one "
                             f"of: {', '.join(self.labels)}")
        raise ValueError(f"unknown label {quote(value)}; expected one of: "
                         f"{', '.join(self.labels)}")


@dataclass(frozen=True)
class Benchmark:
    """One entry of the official leaderboard: a submission file and its metrics."""

    name: str                          # "MNLI-m"
    task: str                          # "MNLI"
    metrics: tuple[str, ...]           # official metrics; the entry's score is their mean
    dev: str                           # key into Task.files used for dev scoring
    test: str                          # key into Task.files used for the submission
    glue_group: str | None             # entries sharing a group are averaged; None: not in score
    submission_file: str = field(default="")

    def __post_init__(self) -> None:
        if not self.submission_file:
            object.__setattr__(self, "submission_file", f"{self.name}.tsv")

    def file_key(self, split: str) -> str:
        """The key into ``Task.files`` evaluated for ``split`` ("dev" or "test")."""
        if split not in ("dev", "test"):
            raise UsageError(f"unknown split '{split}'; expected dev or test")
        return self.dev if split == "dev" else self.test


def _pair(path: str, size: int, s1: str, s2: str, label: str | None, index: str | None = "index"):
    return SplitFile(path, size, (s1, s2), label, index)


COLA_COLUMNS = ("source", "label", "original_label", "sentence")

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task(
            "CoLA", "Corpus of Linguistic Acceptability: is the sentence grammatical?",
            ("sentence",), ("0", "1"), ("unacceptable", "acceptable"),
            {
                "train": SplitFile("CoLA/train.tsv", 8551, ("sentence",), "label",
                                   header=COLA_COLUMNS),
                "dev": SplitFile("CoLA/dev.tsv", 1043, ("sentence",), "label",
                                 header=COLA_COLUMNS),
                "test": SplitFile("CoLA/test.tsv", 1063, ("sentence",), None, "index"),
            },
            "cola", ("sentence",),
        ),
        Task(
            "SST-2", "Stanford Sentiment Treebank: is the movie-review phrase positive?",
            ("sentence",), ("0", "1"), ("negative", "positive"),
            {
                "train": SplitFile("SST-2/train.tsv", 67349, ("sentence",), "label"),
                "dev": SplitFile("SST-2/dev.tsv", 872, ("sentence",), "label"),
                "test": SplitFile("SST-2/test.tsv", 1821, ("sentence",), None, "index"),
            },
            "sst2", ("sentence",),
        ),
        Task(
            "MRPC", "Microsoft Research Paraphrase Corpus: do the sentences mean the same?",
            ("sentence1", "sentence2"), ("0", "1"), ("not_equivalent", "equivalent"),
            {
                "train": _pair("MRPC/train.tsv", 3668, "#1 String", "#2 String", "Quality", None),
                "dev": _pair("MRPC/dev.tsv", 408, "#1 String", "#2 String", "Quality", None),
                "test": _pair("MRPC/test.tsv", 1725, "#1 String", "#2 String", None),
            },
            "mrpc", ("sentence1", "sentence2"),
        ),
        Task(
            "STS-B", "Semantic Textual Similarity Benchmark: similarity score from 0 to 5.",
            ("sentence1", "sentence2"), None, None,
            {
                "train": _pair("STS-B/train.tsv", 5749, "sentence1", "sentence2", "score"),
                "dev": _pair("STS-B/dev.tsv", 1500, "sentence1", "sentence2", "score"),
                "test": _pair("STS-B/test.tsv", 1379, "sentence1", "sentence2", None),
            },
            "stsb", ("sentence1", "sentence2"),
        ),
        Task(
            "QQP", "Quora Question Pairs: are the two questions duplicates?",
            ("question1", "question2"), ("0", "1"), ("not_duplicate", "duplicate"),
            {
                "train": _pair("QQP/train.tsv", 363846, "question1", "question2",
                               "is_duplicate", "id"),
                "dev": _pair("QQP/dev.tsv", 40430, "question1", "question2", "is_duplicate", "id"),
                "test": _pair("QQP/test.tsv", 390965, "question1", "question2", None, "id"),
            },
            "qqp", ("question1", "question2"),
        ),
        Task(
            "MNLI", "Multi-Genre NLI: does the premise entail, contradict or not decide?",
            ("premise", "hypothesis"),
            ("entailment", "neutral", "contradiction"),
            ("entailment", "neutral", "contradiction"),
            {
                "train": _pair("MNLI/train.tsv", 392702, "sentence1", "sentence2", "gold_label"),
                "dev": _pair("MNLI/dev_matched.tsv", 9815, "sentence1", "sentence2", "gold_label"),
                "dev_mismatched": _pair("MNLI/dev_mismatched.tsv", 9832, "sentence1",
                                        "sentence2", "gold_label"),
                "test": _pair("MNLI/test_matched.tsv", 9796, "sentence1", "sentence2", None),
                "test_mismatched": _pair("MNLI/test_mismatched.tsv", 9847, "sentence1",
                                         "sentence2", None),
            },
            "mnli", ("premise", "hypothesis"),
        ),
        Task(
            "QNLI", "Question NLI (SQuAD): does the sentence answer the question?",
            ("question", "sentence"), ("entailment", "not_entailment"),
            ("entailment", "not_entailment"),
            {
                "train": _pair("QNLI/train.tsv", 104743, "question", "sentence", "label"),
                "dev": _pair("QNLI/dev.tsv", 5463, "question", "sentence", "label"),
                "test": _pair("QNLI/test.tsv", 5463, "question", "sentence", None),
            },
            "qnli", ("question", "sentence"),
        ),
        Task(
            "RTE", "Recognizing Textual Entailment: does sentence 1 entail sentence 2?",
            ("sentence1", "sentence2"), ("entailment", "not_entailment"),
            ("entailment", "not_entailment"),
            {
                "train": _pair("RTE/train.tsv", 2490, "sentence1", "sentence2", "label"),
                "dev": _pair("RTE/dev.tsv", 277, "sentence1", "sentence2", "label"),
                "test": _pair("RTE/test.tsv", 3000, "sentence1", "sentence2", None),
            },
            "rte", ("sentence1", "sentence2"),
        ),
        Task(
            "WNLI", "Winograd NLI: is the pronoun-substituted sentence entailed? (1 = entailment)",
            ("sentence1", "sentence2"), ("0", "1"), ("not_entailment", "entailment"),
            {
                "train": _pair("WNLI/train.tsv", 635, "sentence1", "sentence2", "label"),
                "dev": _pair("WNLI/dev.tsv", 71, "sentence1", "sentence2", "label"),
                "test": _pair("WNLI/test.tsv", 146, "sentence1", "sentence2", None),
            },
            "wnli", ("sentence1", "sentence2"),
        ),
        Task(
            "AX", "GLUE diagnostic dataset: hand-built NLI pairs, predicted by the MNLI model.",
            ("premise", "hypothesis"),
            ("entailment", "neutral", "contradiction"),
            ("entailment", "neutral", "contradiction"),
            {
                # The annotated copy carries gold labels and the diagnostic categories;
                # its rows match diagnostic.tsv index-for-index.
                "dev": SplitFile("diagnostic/diagnostic-full.tsv", 1104,
                                 ("Premise", "Hypothesis"), "Label", None),
                "test": _pair("diagnostic/diagnostic.tsv", 1104, "sentence1", "sentence2", None),
            },
            "ax", ("premise", "hypothesis"),
        ),
    ]
}

# STS-B similarity scores run from 0 (unrelated) to 5 (equivalent).
STSB_RANGE = (0.0, 5.0)

# AX's coarse categories: columns of diagnostic-full.tsv, each holding `;`-separated tags.
AX_COARSE_CATEGORIES = ("Lexical Semantics", "Predicate-Argument Structure", "Logic", "Knowledge")

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark("CoLA", "CoLA", ("mcc",), "dev", "test", "CoLA"),
        Benchmark("SST-2", "SST-2", ("accuracy",), "dev", "test", "SST-2"),
        Benchmark("MRPC", "MRPC", ("f1", "accuracy"), "dev", "test", "MRPC"),
        Benchmark("STS-B", "STS-B", ("pearson", "spearman"), "dev", "test", "STS-B"),
        Benchmark("QQP", "QQP", ("f1", "accuracy"), "dev", "test", "QQP"),
        Benchmark("MNLI-m", "MNLI", ("accuracy",), "dev", "test", "MNLI"),
        Benchmark("MNLI-mm", "MNLI", ("accuracy",), "dev_mismatched", "test_mismatched", "MNLI"),
        Benchmark("QNLI", "QNLI", ("accuracy",), "dev", "test", "QNLI"),
        Benchmark("RTE", "RTE", ("accuracy",), "dev", "test", "RTE"),
        Benchmark("WNLI", "WNLI", ("accuracy",), "dev", "test", "WNLI"),
        # R3 = Matthews correlation generalised to three classes (Gorodkin's R_K).
        Benchmark("AX", "AX", ("r3",), "dev", "test", None),
    ]
}

# The nine groups averaged, unweighted, into the GLUE score.
GLUE_GROUPS: tuple[str, ...] = tuple(
    dict.fromkeys(b.glue_group for b in BENCHMARKS.values() if b.glue_group)
)


def _fold(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def lookup_name(name: str, table: dict, kind: str):
    """``table[name]`` with case, "-" and "_" ignored; else a UsageError with a close match."""
    folded = {_fold(k): v for k, v in table.items()}
    if _fold(name) in folded:
        return folded[_fold(name)]
    close = difflib.get_close_matches(name, list(table), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UsageError(f"Unknown {kind} '{name}'.{hint} Known: {', '.join(table)}")


def get_task(name: str) -> Task:
    """The task called ``name`` (case and dashes are forgiven: ``sst2`` -> ``SST-2``)."""
    return lookup_name(name, TASKS, "task")


def get_benchmark(name: str) -> Benchmark:
    """The leaderboard entry called ``name`` (``MNLI-m``, ``AX``, ...)."""
    return lookup_name(name, BENCHMARKS, "benchmark entry")


def benchmark_for_file(filename: str) -> Benchmark | None:
    """The entry whose submission file is ``filename``, if any."""
    return next((b for b in BENCHMARKS.values() if b.submission_file == filename), None)


def resolve_benchmarks(spec: str | None) -> list[Benchmark]:
    """Entries named by a comma-separated list; a task name expands (``MNLI`` -> m and mm)."""
    if spec is None:
        return list(BENCHMARKS.values())
    names = [s.strip() for s in spec.split(",")]
    if not any(names):
        raise UsageError(f"no task named in '{spec}'; expected e.g. CoLA,RTE or all")
    if any(not n for n in names):
        raise UsageError(f"empty task name in '{spec}'; expected names separated by commas")
    out: list[Benchmark] = []
    for name in names:
        if name.lower() == "all":
            out.extend(BENCHMARKS.values())
        elif _fold(name) in {_fold(b) for b in BENCHMARKS}:
            out.append(get_benchmark(name))
        else:
            task = get_task(name)  # raises "Unknown task ... Did you mean ...?"
            out.extend(b for b in BENCHMARKS.values() if b.task == task.name)
    return list(dict.fromkeys(out))


def registry() -> dict[str, dict]:
    """Every leaderboard entry with its task's facts, as plain data (``gluebench tasks``)."""
    out = {}
    for name, b in BENCHMARKS.items():
        task = TASKS[b.task]
        splits = {"train": "train", "dev": b.dev, "test": b.test}
        out[name] = {
            "task": task.name, "description": task.description,
            "input_fields": list(task.input_fields),
            "labels": list(task.labels) if task.labels else None,
            "label_names": list(task.label_names) if task.label_names else None,
            "metrics": list(b.metrics), "in_glue_score": b.glue_group is not None,
            "submission_file": b.submission_file,
            "splits": {k: {"path": task.files[v].path, "size": task.files[v].size}
                       for k, v in splits.items() if v in task.files},
        }
    return out
