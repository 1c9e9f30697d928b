"""Loading GLUE files: the real data's quirks, official sizes, and the official layouts
of the files that are missing from the real data (synthetic fixtures).

Quirks covered: CoLA dev has no header and no trailing newline; MRPC starts with a
UTF-8 BOM; diagnostic-full has CRLF line endings; quote characters are ordinary text;
the MNLI dev_matched copy has reduced columns and must be read by column name.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.sources import DirectorySource
from gluebench.benchmark.tasks import TASKS
from gluebench.errors import GlueBenchWarning

OFFICIAL = Path(__file__).parent / "fixtures" / "official_formats"


def load_real(glue_dir: Path, task: str, split: str):
    """Load a real file, failing on any warning (the real files have the official sizes)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        examples = DirectorySource(glue_dir).load(TASKS[task], split)
    assert not [str(w.message) for w in caught]
    return examples


def counts(examples) -> dict[str, int]:
    task = examples.task
    ids, n = np.unique(examples.labels, return_counts=True)
    return {task.labels[int(i)]: int(c) for i, c in zip(ids, n, strict=True)}


def all_text(examples) -> list[str]:
    return [v for col in (*examples.inputs.values(), *examples.meta.values()) for v in col]


# ---- quirks of the real data ---------------------------------------------------------------

def test_cola_dev_headerless_without_trailing_newline(glue_dir):
    raw = (glue_dir / "CoLA" / "dev.tsv").read_bytes()
    assert not raw.endswith(b"\n")  # the quirk is still there
    ex = load_real(glue_dir, "CoLA", "dev")
    assert len(ex) == 1043
    assert counts(ex) == {"1": 721, "0": 322}
    # no header: the first line is a data row, not column names
    first = raw.split(b"\n")[0].decode().split("\t")
    assert ex.inputs["sentence"][0] == first[3]
    assert ex.labels[0] == int(first[1])
    # the last row, which has no newline after it, is read in full
    last = raw.rsplit(b"\n", 1)[1].decode().split("\t")
    assert ex.inputs["sentence"][-1] == last[3]
    assert ex.labels[-1] == int(last[1])
    np.testing.assert_array_equal(ex.index, np.arange(1043))


def test_mrpc_dev_bom(glue_dir):
    raw = (glue_dir / "MRPC" / "dev.tsv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfQuality\t")  # the quirk is still there
    ex = load_real(glue_dir, "MRPC", "dev")
    assert len(ex) == 408
    assert counts(ex) == {"1": 279, "0": 129}
    assert not any("\ufeff" in v for v in all_text(ex))


def test_quotes_are_ordinary_text(glue_dir):
    """MRPC dev row 0's sentence2 opens a quote it never closes; CSV readers would merge rows."""
    ex = load_real(glue_dir, "MRPC", "dev")
    assert ex.inputs["sentence2"][0] == (
        '"The foodservice pie business does not fit our long-term growth strategy.')
    assert ex.inputs["sentence1"][0].startswith("He said the foodservice pie business")
    assert ex.labels[0] == 1
    assert len(ex) == 408


def test_diagnostic_full_crlf(glue_dir):
    raw = (glue_dir / "diagnostic" / "diagnostic-full.tsv").read_bytes()
    assert raw.count(b"\r\n") >= 1104  # the quirk is still there
    ex = load_real(glue_dir, "AX", "dev")
    assert len(ex) == 1104
    assert counts(ex) == {"entailment": 460, "neutral": 386, "contradiction": 258}
    assert not any("\r" in v for v in all_text(ex))
    assert set(ex.meta) == {"Lexical Semantics", "Predicate-Argument Structure", "Logic",
                            "Knowledge", "Domain"}


def test_mnli_reduced_columns_read_by_name(glue_dir):
    header = (glue_dir / "MNLI" / "dev_matched.tsv").read_text(encoding="utf-8").split("\n")[0]
    assert header == "index\tsentence1\tsentence2\tgold_label"
    ex = load_real(glue_dir, "MNLI", "dev")
    assert len(ex) == 9815
    assert counts(ex) == {"entailment": 3479, "neutral": 3123, "contradiction": 3213}
    assert ex.inputs["premise"][0] == "The new rights are nice enough"
    assert ex.inputs["hypothesis"][0] == "Everyone really likes the newest benefits "
    assert ex.labels[0] == TASKS["MNLI"].labels.index("neutral")


OFFICIAL_FILES = [(name, split) for name, task in TASKS.items() for split in task.files]


@pytest.mark.parametrize(("task", "split"), OFFICIAL_FILES,
                         ids=[f"{t}-{s}" for t, s in OFFICIAL_FILES])
def test_every_present_file_has_its_official_size(glue_dir, task, split):
    spec = TASKS[task].files[split]
    if not (glue_dir / spec.path).is_file():
        pytest.skip(f"{spec.path} is not in the real data (see shared/data/README.md)")
    ex = load_real(glue_dir, task, split)
    assert len(ex) == spec.size
    assert len(ex.index) == spec.size and len(set(ex.index.tolist())) == spec.size
    for field in TASKS[task].input_fields:
        assert len(ex.inputs[field]) == spec.size
    if spec.label_column is None:
        assert ex.labels is None
    else:
        assert ex.labels is not None and len(ex.labels) == spec.size
        assert np.all(np.isfinite(ex.labels))
    assert not any("\r" in v for v in all_text(ex))
    # a BOM at the start of the file is not data (QNLI dev row 60 has U+FEFF inside its text)
    assert not any(v.startswith("\ufeff") for v in all_text(ex))


def test_size_mismatch_warns(glue_dir, tmp_path):
    lines = (glue_dir / "RTE" / "dev.tsv").read_text(encoding="utf-8").split("\n")
    (tmp_path / "RTE").mkdir()
    (tmp_path / "RTE" / "dev.tsv").write_text("\n".join(lines[:11]) + "\n", encoding="utf-8")
    with pytest.warns(GlueBenchWarning, match=r"10 examples, but the official RTE dev set "
                                               r"has 277"):
        ex = DirectorySource(tmp_path).load(TASKS["RTE"], "dev")
    assert len(ex) == 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(DirectorySource(tmp_path, check_sizes=False).load(TASKS["RTE"], "dev")) == 10


# ---- the same quirks on small hand-made files ------------------------------------------------

def write_bytes(root: Path, rel: str, data: bytes) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)


def test_small_headerless_no_trailing_newline(tmp_path):
    write_bytes(tmp_path, "CoLA/dev.tsv",
                b"src1\t1\t\tThe cat sat.\nsrc1\t0\t*\tSat cat the.\nsrc2\t1\t\tIt rained.")
    ex = DirectorySource(tmp_path, check_sizes=False).load(TASKS["CoLA"], "dev")
    assert ex.inputs["sentence"] == ["The cat sat.", "Sat cat the.", "It rained."]
    assert ex.labels.tolist() == [1, 0, 1]


def test_small_bom_crlf_and_trailing_blank_lines(tmp_path):
    text = ("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n"
            "1\t11\t12\tA dog barked.\tThe dog barked.\r\n"
            "0\t13\t14\tShe left.\t\"She stayed,\" he said.\r\n\r\n\r\n")
    write_bytes(tmp_path, "MRPC/dev.tsv", b"\xef\xbb\xbf" + text.encode())
    ex = DirectorySource(tmp_path, check_sizes=False).load(TASKS["MRPC"], "dev")
    assert ex.labels.tolist() == [1, 0]
    assert ex.inputs["sentence2"] == ["The dog barked.", '"She stayed," he said.']
    np.testing.assert_array_equal(ex.index, [0, 1])


def test_small_unbalanced_quotes(tmp_path):
    """An opening quote with no closing one must not swallow the following rows."""
    text = ("index\tsentence1\tsentence2\tlabel\n"
            '0\t"He left early.\tHe left.\tentailment\n'
            '1\tShe said "no\tShe agreed.\tnot_entailment\n'
            "2\tIt's \"\"fine\"\".\tIt is fine.\tentailment\n")
    write_bytes(tmp_path, "RTE/dev.tsv", text.encode())
    ex = DirectorySource(tmp_path, check_sizes=False).load(TASKS["RTE"], "dev")
    assert ex.inputs["sentence1"] == ['"He left early.', 'She said "no', 'It\'s ""fine"".']
    assert ex.labels.tolist() == [0, 1, 0]


# ---- official layouts of the missing files (synthetic fixtures) ------------------------------

def oracle(rel: str) -> list[dict[str, str]]:
    """An independent reading of a fixture: tab-split, quotes as text, CRLF tolerated."""
    with open(OFFICIAL / rel, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture
def fixture_source() -> DirectorySource:
    return DirectorySource(OFFICIAL, check_sizes=False)


FIXTURE_SPLITS = [
    ("QQP", "train", "QQP/train.tsv", 6),
    ("QQP", "dev", "QQP/dev.tsv", 6),
    ("QQP", "test", "QQP/test.tsv", 3),
    ("MNLI", "train", "MNLI/train.tsv", 12),
    ("MNLI", "dev", "MNLI/dev_matched.tsv", 16),
    ("MNLI", "dev_mismatched", "MNLI/dev_mismatched.tsv", 16),
    ("MNLI", "test", "MNLI/test_matched.tsv", 10),
    ("MNLI", "test_mismatched", "MNLI/test_mismatched.tsv", 10),
    ("QNLI", "train", "QNLI/train.tsv", 4),
]


@pytest.mark.parametrize(("task", "split", "rel", "n_columns"), FIXTURE_SPLITS,
                         ids=[f"{t}-{s}" for t, s, _, _ in FIXTURE_SPLITS])
def test_official_layout_loads(fixture_source, task, split, rel, n_columns):
    t = TASKS[task]
    spec = t.files[split]
    assert spec.path == rel
    rows = oracle(rel)
    assert 4 <= len(rows) <= 8
    assert len(rows[0]) == n_columns and all(None not in r for r in rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ex = fixture_source.load(t, split)
    assert len(ex) == len(rows)
    for field, column in zip(t.input_fields, spec.text_columns, strict=True):
        assert ex.inputs[field] == [r[column] for r in rows]
    if spec.label_column is None:
        assert ex.labels is None
    else:
        assert ex.labels.tolist() == [t.labels.index(r[spec.label_column]) for r in rows]
    expected_index = ([int(r[spec.index_column]) for r in rows] if spec.index_column
                      else list(range(len(rows))))
    assert ex.index.tolist() == expected_index
    if task == "MNLI":
        assert ex.meta["genre"] == [r["genre"] for r in rows]
    assert not any("\r" in v for v in all_text(ex))


def test_qqp_ids_are_the_index(fixture_source):
    ex = fixture_source.load(TASKS["QQP"], "dev")
    assert ex.index.tolist()[:2] == [201359, 263843]
    assert ex.inputs["question1"][3] == '"Hello, world" is the first program in which languages?'
    assert ex.labels.tolist() == [0, 0, 1, 1, 0, 0]
    assert (OFFICIAL / "QQP" / "dev.tsv").read_bytes().count(b"\r\n") == 7  # CRLF kept


def test_mnli_gold_label_not_label1(fixture_source):
    """Row 1 of dev_matched: label1 says neutral, the gold label (majority of 5) entailment."""
    ex = fixture_source.load(TASKS["MNLI"], "dev")
    assert oracle("MNLI/dev_matched.tsv")[1]["label1"] == "neutral"
    assert ex.labels[1] == TASKS["MNLI"].labels.index("entailment")
    assert ex.inputs["premise"][1] == '"We\'re closed," the clerk said without looking up.'
    assert ex.meta["genre"] == ["government", "fiction", "slate", "telephone", "travel"]
    mm = fixture_source.load(TASKS["MNLI"], "dev_mismatched")
    assert set(mm.meta["genre"]) <= {"facetoface", "letters", "nineeleven", "oup", "verbatim"}


def test_official_layout_size_check_warns():
    with pytest.warns(GlueBenchWarning, match="official QNLI train set has 104743"):
        DirectorySource(OFFICIAL).load(TASKS["QNLI"], "train")


def test_official_layouts_score_end_to_end(run_cli, tmp_path):
    """baseline majority -> score for QQP, MNLI-m and MNLI-mm; MNLI is one GLUE group."""
    pred = tmp_path / "pred"
    code, out, err = run_cli("baseline", "majority", "--data-dir", OFFICIAL,
                             "--tasks", "QQP,MNLI", "-o", pred)
    assert code == 0, err
    assert sorted(p.name for p in pred.iterdir()) == ["MNLI-m.tsv", "MNLI-mm.tsv", "QQP.tsv"]
    # the majority comes from the train files: 0 for QQP, contradiction for MNLI
    assert (pred / "QQP.tsv").read_text().split("\n")[1:3] == ["0\t0", "1\t0"]
    assert set((pred / "MNLI-mm.tsv").read_text().split("\n")[1:-1]) == {
        f"{i}\tcontradiction" for i in range(6)}

    out_json = tmp_path / "results.json"
    code, out, err = run_cli("score", "--data-dir", OFFICIAL, "--predictions", pred,
                             "--resamples", "20", "--json", out_json)
    assert code == 0, err
    assert "Traceback" not in err
    res = json.loads(out_json.read_text())
    tasks = res["tasks"]
    assert set(tasks) == {"QQP", "MNLI-m", "MNLI-mm"}
    assert tasks["QQP"]["n"] == 6 and tasks["MNLI-m"]["n"] == 5 and tasks["MNLI-mm"]["n"] == 6
    assert tasks["QQP"]["accuracy"] == pytest.approx(4 / 6)
    assert tasks["QQP"]["f1"] == pytest.approx(0.0)
    assert tasks["MNLI-m"]["accuracy"] == pytest.approx(2 / 5)
    assert tasks["MNLI-mm"]["accuracy"] == pytest.approx(3 / 6)
    # glue_score grouping: MNLI-m and MNLI-mm are averaged into one MNLI group
    assert res["glue_score"] is None
    assert res["partial_average_tasks"] == ["QQP", "MNLI"]
    mnli_group = (40.0 + 50.0) / 2
    assert res["partial_average"] == pytest.approx((tasks["QQP"]["score"] + mnli_group) / 2)
    assert res["partial_average"] == pytest.approx((100 * (0 + 4 / 6) / 2 + 45.0) / 2)
    assert not {"QQP", "MNLI-m", "MNLI-mm"} & set(res["tasks_missing"])
    assert "AX" in res["tasks_missing"]
