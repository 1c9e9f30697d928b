"""The guides cannot go stale silently: every `gluebench` command a page shows parses with the
CLI's own parser (commands, subcommands, flags, choices), the suite a guide defines passes
`suite check` with the output the guide prints, its scores are the ones the guide shows, and
the README's links lead to pages that exist."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from gluebench.cli.main import build_parser

from .conftest import real_data_missing, suite_data_roots

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# Every page with shell commands (python-api.md's examples are doctests, run by test_api_doctests).
PAGES = ("index", "getting-started", "how-to/finetune-and-submit", "how-to/prompt-an-llm",
         "how-to/superglue", "how-to/define-a-suite", "how-to/track-and-publish",
         "how-to/compare-seeds", "how-to/analyse", "how-to/sweep-on-ray",
         "how-to/host-a-leaderboard")
SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console)[^\n]*\n(.*?)^```", re.M | re.S)
TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.M | re.S)
TEXT_BLOCK = re.compile(r"^```text\n(.*?)^```", re.M | re.S)
SEPARATORS = {"&&", "||", ";", "|", "&", ">", ">>", "2>", "<"}
VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")


def page(name: str) -> str:
    return (DOCS / f"{name}.md").read_text(encoding="utf-8")


def shell_commands(markdown: str) -> list[str]:
    """Each command line of the page's shell blocks: continuations joined, comments dropped."""
    lines = []
    for block in SHELL_BLOCK.findall(markdown):
        joined = re.sub(r"\\\n\s*", " ", block)
        lines.extend(line.strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def gluebench_invocations(line: str) -> list[list[str]]:
    """The argument lists of every ``gluebench`` call on a shell line (``a && gluebench x | y``)."""
    line = VARIABLE.sub("1", line)      # a shell variable ($GLUE, a loop's $s) as a value
    lexer = shlex.shlex(line, posix=True, punctuation_chars="&|;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words, calls, current = list(lexer), [], None
    for word in words:
        if word in SEPARATORS or set(word) <= set("&|;<>"):
            current = None
        elif current is not None:
            current.append(word)
        elif word == "gluebench":
            current = []
            calls.append(current)
    return calls


@functools.cache
def parser():
    """gluebench's own parser, built once (parsing leaves it unchanged)."""
    return build_parser()


def parse(argv: list[str]) -> str:
    """'' when the parser accepts ``argv`` (``--help`` included), else what it printed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser().parse_args(argv)
        except SystemExit as exc:
            return "" if exc.code == 0 else err.getvalue().strip().splitlines()[-1]
    return ""


def test_the_extraction_finds_calls_in_pipelines_and_continuations():
    text = ("```bash\n# a comment: gluebench nothing\nGLUE=x; gluebench tasks --suite glue "
            "&& gluebench score \\\n    --predictions p | head -3 > out.txt\n"
            "gluebench serve --db b.db &   # in the background\n```\n")
    calls = [call for line in shell_commands(text) for call in gluebench_invocations(line)]
    assert calls == [["tasks", "--suite", "glue"], ["score", "--predictions", "p"],
                     ["serve", "--db", "b.db"]]


def test_the_check_catches_a_stale_command():
    """What the page test relies on: a renamed flag, a wrong choice, an unknown command fail."""
    assert parse(["score", "--predictions", "p"]) == ""
    assert "unrecognized arguments: --prediction-dir" in parse(
        ["score", "--predictions", "p", "--prediction-dir", "q"])
    assert "invalid choice" in parse(["baseline", "majorty", "-o", "x"])
    assert "invalid choice" in parse(["suite", "chek", "x.toml"])


@pytest.mark.parametrize("name", PAGES)
def test_every_gluebench_command_in_a_guide_parses(name):
    calls = [call for line in shell_commands(page(name)) for call in gluebench_invocations(line)]
    assert calls, f"docs/{name}.md shows no gluebench command"
    stale = {" ".join(call): problem for call in calls
             if (problem := parse(call))}
    assert not stale, f"docs/{name}.md: commands the CLI refuses: {stale}"


def test_the_new_guides_are_in_the_site_navigation():
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for name in ("how-to/superglue", "how-to/define-a-suite", "how-to/track-and-publish",
                 "how-to/python-api"):
        assert f"{name}.md" in nav, name


def test_the_suite_guide_runs_every_suite_command():
    """Define-a-suite shows each command that takes --suite (and `suite check`), on its file."""
    calls = [call for line in shell_commands(page("how-to/define-a-suite"))
             for call in gluebench_invocations(line)]
    shown = {call[0] if call[0] != "suite" else "suite check" for call in calls
             if "--suite" in call or call[:2] == ["suite", "check"]}
    assert shown >= {"suite check", "tasks", "baseline", "score", "compare", "submission",
                     "validate", "serve"}, shown
    assert all("polyglot.toml" in call for call in calls if "--suite" in call)


@pytest.fixture(scope="module")
def guide_suite(tmp_path_factory) -> Path:
    """The suite file the guide tells the reader to save, saved."""
    blocks = TOML_BLOCK.findall(page("how-to/define-a-suite"))
    assert len(blocks) == 1, "the suite guide should show exactly one suite file"
    path = tmp_path_factory.mktemp("guide") / "polyglot.toml"
    path.write_text(blocks[0], encoding="utf-8")
    return path


def _shown_output(markdown: str, starts: str) -> str:
    found = [block for block in TEXT_BLOCK.findall(markdown) if block.startswith(starts)]
    assert found, f"no output block starting with {starts!r}"
    return found[0]


def test_the_suite_file_in_the_guide_passes_suite_check_as_shown(guide_suite, run_cli):
    code, out, err = run_cli("suite", "check", guide_suite)
    assert code == 0, err
    shown = _shown_output(page("how-to/define-a-suite"), "polyglot.toml: OK")
    assert out.replace(str(guide_suite), "polyglot.toml").strip() == shown.strip()


def test_every_key_of_the_format_is_explained():
    """Each key the built-in suites and the examples use appears in the guide's key table."""
    import tomllib

    table = page("how-to/define-a-suite").split("## Every key of the format", 1)[1]
    explained = {word for span in re.findall(r"`([^`]+)`", table)
                 for word in re.findall(r"\w+", span)}
    files = [*(REPO / "src/gluebench/benchmark/suites").glob("*.toml"),
             *(REPO / "examples/suites").glob("*.toml")]
    keys = set()
    for file in files:
        _collect_keys(tomllib.loads(file.read_text(encoding="utf-8")), keys)
    missing = sorted(keys - explained)
    assert not missing, f"keys used by the shipped suites but not explained: {missing}"


# Tables whose keys are names, not format keys: tasks and entries, a task's file keys (train,
# dev32, ...), a file's group ids (question, paragraph, ...).
NAMED_TABLES = {"tasks", "entries", "files", "groups"}


def _collect_keys(table: dict, keys: set, parent: str = "") -> None:
    for key, value in table.items():
        named = parent in NAMED_TABLES
        if not named:
            keys.add(key)
        if isinstance(value, dict):
            _collect_keys(value, keys, "" if named else key)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                _collect_keys(item, keys, key)


def _data_root() -> Path:
    for root in suite_data_roots():
        if (root / "clue" / "ocnli" / "dev.json").is_file() and (
                root / "klej" / "nkjp-ner" / "train.tsv").is_file():
            return root
    real_data_missing("CLUE and KLEJ data not found beside the checkout (../shared/data)")


@pytest.mark.real_data
def test_the_guide_shows_the_scores_its_commands_give(guide_suite, tmp_path, run_cli):
    """The majority baseline and its scores as the guide prints them, on the real files."""
    data = _data_root()
    code, _, err = run_cli("baseline", "majority", "--suite", guide_suite, "--data-dir", data,
                           "--split", "dev", "-o", tmp_path / "majority")
    assert code == 0, err
    code, out, err = run_cli("score", "--suite", guide_suite, "--data-dir", data,
                             "--predictions", tmp_path / "majority",
                             "--json", tmp_path / "m.json")
    assert code == 0, err
    shown = _shown_output(page("how-to/define-a-suite"), " Polyglot (OCNLI, NKJP-NER) dev scores")
    table_rows = [line for line in out.splitlines() if line.startswith("│")]
    for row in table_rows:
        assert row.rstrip() in shown, row
    result = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert f"{result['polyglot_score']:.1f}" == "26.8"


README_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_a_front_page_whose_links_lead_somewhere():
    text = readme()
    assert len(text.splitlines()) < 150, "the README is the front page; details go in docs/"
    targets = [t for t in README_LINK.findall(text) if "://" not in t]
    missing = [t for t in targets if not (REPO / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
    for page_path in sorted((DOCS / "how-to").glob("*.md")):
        assert f"docs/how-to/{page_path.name}" in targets, f"README does not link {page_path.name}"
    for needed in ("docs/reference/cli.md", "docs/reference/python-api.md",
                   "docs/getting-started.md", "benchmarks/RESULTS.md", "ARCHITECTURE.md"):
        assert needed in targets, needed


def test_the_readme_and_getting_started_show_the_same_two_commands():
    first_block = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
    assert first_block.search(readme()).group(1) == first_block.search(
        page("getting-started")).group(1)
