"""Which suite a report shows, and its layout: entries, metrics, the aggregate.

A results document of a suite other than GLUE (``score --suite … --json``, a suite run's
``results.json``) records ``{"suite": {"name", "sha256", ...}}``; a GLUE document records
none (or ``"glue"``) and keeps GLUE's report, byte for byte. The layout comes from the
suite definition — the one given with ``report --suite NAME|PATH``, else the built-in
suite of the recorded name — and, where neither is at hand (a user's suite file not
passed), from the document itself: its entries in order, each entry's metrics from its
CIs, and no grouping (every entry then counts as part of the aggregate).
"""

from __future__ import annotations

from dataclasses import dataclass

from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_loader import DEFAULT_SUITE, list_suites, load_suite
from gluebench.errors import UsageError
from gluebench.report.collect import RunView


@dataclass(frozen=True)
class EntryLayout:
    name: str
    metrics: tuple[str, ...]
    in_score: bool                    # False: reported beside the suite score (AX-b, AX-g)
    categorised: bool = False         # a diagnostic with category columns (AX-b)


@dataclass(frozen=True)
class SuiteLayout:
    """What the suite report's tables are made of."""

    name: str
    title: str
    aggregate: str                    # the results key of the suite score
    entries: tuple[EntryLayout, ...]
    sha256: str | None                # of the definition the layout was read from
    from_definition: bool

    def entry(self, name: str) -> EntryLayout | None:
        return next((e for e in self.entries if e.name == name), None)


def suite_record(run: RunView) -> dict | None:
    """The run's suite record, or None for a GLUE document (which keeps GLUE's report)."""
    record = run.results.get("suite")
    if not isinstance(record, dict) or record.get("name") in (None, DEFAULT_SUITE):
        return None
    return record


def report_suite(runs: list[RunView], given: Suite | None = None) -> SuiteLayout | None:
    """The suite the runs were scored on (None: GLUE); runs of two suites are refused."""
    records = [suite_record(r) for r in runs]
    names = {(rec or {}).get("name", DEFAULT_SUITE) for rec in records}
    if len(names) > 1:
        shown = ", ".join(f"{r.name}: {(rec or {}).get('name', DEFAULT_SUITE)}"
                          for r, rec in zip(runs, records, strict=True))
        raise UsageError(f"these results come from different suites ({shown}); expected "
                         "runs of one suite in one report")
    if not runs or records[0] is None:
        if given is not None and given.name != DEFAULT_SUITE and runs:
            raise UsageError(f"--suite {given.name}: these are GLUE results; expected "
                             f"{given.title} results (or no --suite)")
        return None
    record = records[0]
    if given is not None and given.name != record["name"]:
        raise UsageError(f"--suite {given.name}: these results are of suite "
                         f"'{record['name']}'; expected its definition")
    suite = given or (load_suite(record["name"]) if record["name"] in list_suites() else None)
    if suite is not None:
        return layout_of(suite)
    return layout_from_document(record, runs)


def layout_of(suite: Suite) -> SuiteLayout:
    entries = tuple(EntryLayout(n, e.metrics, e.group is not None, bool(e.categories))
                    for n, e in suite.entries.items())
    return SuiteLayout(suite.name, suite.title, suite.aggregate.name, entries, suite.sha256,
                       True)


def layout_from_document(record: dict, runs: list[RunView]) -> SuiteLayout:
    """The layout read off the documents when the definition is not at hand."""
    entries: dict[str, EntryLayout] = {}
    for run in runs:
        for name, result in run.tasks.items():
            metrics = tuple(k for k in (result.get("ci") or {}) if k != "score")
            entries.setdefault(name, EntryLayout(name, metrics or ("score",), True,
                                                 "categories" in result))
    return SuiteLayout(record["name"], str(record.get("title") or record["name"]),
                       str(record.get("aggregate") or f"{record['name']}_score"),
                       tuple(entries.values()), None, False)
