"""The comparison report as GitHub Markdown: the same tables as the HTML, no figures."""

from __future__ import annotations

from gluebench.report.collect import RunView
from gluebench.report.sections import (
    Cell,
    Figure,
    Grid,
    Heading,
    Note,
    Report,
    Table,
    build_report,
)


def _escape(text: str) -> str:
    """Plain text safe in a Markdown table cell: no raw HTML, no cell breaks."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("*", "\\*").replace("\n", " "))


def _cell(cell: Cell) -> str:
    text = _escape(cell.text)
    if cell.bold and text:
        text = f"**{text}**"
    if cell.sub:
        text += f" <sub>{_escape(cell.sub)}</sub>"
    return text


def _table(t: Table) -> list[str]:
    lines = [f"**{_escape(t.title)}**", ""] if t.title else []
    lines.append("| " + " | ".join(_escape(h) for h in t.headers) + " |")
    lines.append("|" + "|".join("---:" if a == "r" else "---" for a in t.align) + "|")
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in t.rows]
    if t.caption:
        lines += ["", f"_{_escape(t.caption)}_"]
    return lines + [""]


def _block(block) -> list[str]:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Heading):
        return [f"### {block.text}", ""]
    if isinstance(block, Note):
        return [f"> {_escape(block.text)}", ""]
    if isinstance(block, Figure | Grid):
        return []
    return [_escape(str(block)), ""]


def render_report(report: Report) -> str:
    lines = [f"# {report.title}", "",
             f"Generated {report.generated} · gluebench {report.version} · "
             ", ".join([f"{len(report.runs)} run(s): " + ", ".join(_escape(r.name)
                                                                 for r in report.runs)]
                       * bool(report.runs) + [_escape(s.label) for s in report.sweeps]),
             "", "_Figures are in the HTML report (`gluebench report -o report.html`)._", ""]
    for s in report.sections:
        lines += [f"## {s.title}", ""]
        for block in s.blocks:
            lines += _block(block)
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(runs: list[RunView], sweeps=(), studies=(), suite=None) -> str:
    """The report as Markdown tables (figures omitted: their numbers are in the tables)."""
    return render_report(build_report(runs, figures=False, sweeps=list(sweeps),
                                      studies=list(studies), suite=suite))
