"""The report's content, independent of the output format.

``build_report`` turns loaded runs into a :class:`Report`: a list of sections made of
paragraphs, tables and (optionally) figures; ``html.py`` and ``markdown.py`` only lay them out.
One module per report section (:mod:`.overview`, :mod:`.scores`, :mod:`.ax`,
:mod:`.robustness`, :mod:`.efficiency`, :mod:`.quality`, :mod:`.statistics`); the building
blocks are in :mod:`.blocks`, helpers several sections use in :mod:`.shared`, and number
formatting in :mod:`gluebench.console.format`. To add a section, write a module with a function
``runs -> Section`` and list it in :func:`build_report`. A sweep directory gets its own
section (:mod:`.sweep`) before the run sections, and so does a study directory
(:mod:`.study`). Runs of a suite other than GLUE get that suite's sections
(:mod:`.suite_scores`, :mod:`.suite_diagnostics`; see ``report.suite_view``).
"""

from __future__ import annotations

from datetime import datetime, timezone

from gluebench.about import __version__
from gluebench.console.format import (
    COLLAPSED_MARK,
    DASH,
    SUBSAMPLE_MARK,
    fmt_bytes,
    fmt_ci,
    fmt_delta,
    fmt_flops,
    fmt_frac,
    fmt_int,
    fmt_ms,
    fmt_p,
    fmt_pct,
    fmt_rate,
    fmt_score,
)
from gluebench.report.collect import RunView, StudyView, SweepView
from gluebench.report.sections.ax import ax_section
from gluebench.report.sections.blocks import (
    NAV,
    Cell,
    Figure,
    Grid,
    Heading,
    Note,
    Report,
    Section,
    Table,
    c,
)
from gluebench.report.sections.efficiency import efficiency_section
from gluebench.report.sections.overview import environment_section, overview_section
from gluebench.report.sections.quality import quality_section
from gluebench.report.sections.robustness import robustness_section
from gluebench.report.sections.scores import leaderboard_section, task_scores_section
from gluebench.report.sections.statistics import statistics_section
from gluebench.report.sections.study import study_section
from gluebench.report.sections.suite_diagnostics import suite_diagnostics_section
from gluebench.report.sections.suite_scores import (
    suite_leaderboard_section,
    suite_metrics_section,
    suite_overview_section,
)
from gluebench.report.sections.sweep import sweep_section
from gluebench.report.suite_view import SuiteLayout

__all__ = [
    "COLLAPSED_MARK", "DASH", "NAV", "SUBSAMPLE_MARK", "Cell", "Figure", "Grid", "Heading",
    "Note", "Report", "Section", "Table", "build_report", "c", "fmt_bytes", "fmt_ci",
    "fmt_delta", "fmt_flops", "fmt_frac", "fmt_int", "fmt_ms", "fmt_p", "fmt_pct", "fmt_rate",
    "fmt_score",
]


def build_report(runs: list[RunView], *, figures: bool = True,
                 now: datetime | None = None, sweeps: list[SweepView] = (),
                 studies: list[StudyView] = (), suite: SuiteLayout | None = None) -> Report:
    """``suite``: the layout of the suite the runs were scored on (None: GLUE's report)."""
    now = now or datetime.now(timezone.utc)
    sections = [study_section(st, figures) for st in studies]
    sections += [sweep_section(sw, figures) for sw in sweeps]
    if runs:
        sections += (_run_sections(runs, figures) if suite is None
                     else _suite_sections(runs, suite, figures))
    for s in sections:  # "not measured" lines after what was measured
        s.blocks.sort(key=lambda b: isinstance(b, Note) and b.tail)
    return Report("gluebench report", now.strftime("%Y-%m-%d %H:%M UTC"),
                  __version__, runs, sections, [*studies, *sweeps])


def _run_sections(runs: list[RunView], figures: bool) -> list[Section]:
    return [
        overview_section(runs),
        leaderboard_section(runs),
        task_scores_section(runs, figures),
        ax_section(runs, figures),
        robustness_section(runs, figures),
        efficiency_section(runs, figures),
        quality_section(runs, figures),
        statistics_section(runs, figures),
        environment_section(runs),
    ]


def _suite_sections(runs: list[RunView], suite: SuiteLayout, figures: bool) -> list[Section]:
    """A suite other than GLUE: its own tables (entries, metrics, diagnostics)."""
    return [
        suite_overview_section(runs, suite),
        suite_leaderboard_section(runs, suite),
        suite_metrics_section(runs, suite, figures),
        suite_diagnostics_section(runs, suite, figures),
        environment_section(runs),
    ]
