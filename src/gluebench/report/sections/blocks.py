"""What a report is made of, independent of the output format.

A :class:`Report` holds :class:`Section` objects whose blocks are paragraphs (``str``),
:class:`Table`, :class:`Figure`, :class:`Grid`, :class:`Heading` and :class:`Note`;
``html.py`` and ``markdown.py`` only lay them out. Paragraph text is plain text in which
`backticks` mark code; renderers escape it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gluebench.report.collect import RunView


@dataclass
class Cell:
    text: str
    sub: str = ""  # a second, smaller line (CI, "n of N", ...)
    bold: bool = False
    muted: bool = False
    title: str = ""  # tooltip in HTML
    run: int | None = None  # draw the run's colour swatch before the text


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    align: list[str]  # "l" or "r" per column
    caption: str = ""
    title: str = ""
    compact: bool = False
    collapsed: bool = False  # HTML: folded under its title (the numbers behind a figure)
    css: str = ""  # extra HTML class


@dataclass
class Figure:
    key: str
    svg: str
    summary: str  # one line, used by Markdown instead of the figure


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)  # str (paragraph) | Table | Figure | Note

    @property
    def nav(self) -> str:
        """Short title for the navigation bar."""
        return NAV.get(self.id, self.title)

    def p(self, text: str) -> None:
        self.blocks.append(text)


@dataclass
class Note:
    """A muted 'not measured' line."""

    text: str
    tail: bool = False  # a "not measured" line: shown at the end of its section


@dataclass
class Report:
    title: str
    generated: str
    version: str
    runs: list[RunView]
    sections: list[Section]
    sweeps: list = field(default_factory=list)   # SweepView and StudyView


NAV = {"runs": "Runs", "tasks": "Tasks", "ax": "AX", "quality": "Calibration",
       "environment": "Environment"}


@dataclass
class Heading:
    text: str


@dataclass
class Grid:
    """Figures laid side by side where they fit."""

    figures: list[Figure]


def c(text, **kw) -> Cell:
    """A table cell showing ``text`` (anything, converted with ``str``)."""
    return Cell(str(text), **kw)


def table(headers, rows, align=None, **kw) -> Table:
    """A table; by default the first column is left-aligned and the others right-aligned."""
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    return Table(headers, rows, align, **kw)
