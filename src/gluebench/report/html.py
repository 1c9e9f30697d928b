"""The comparison report as one self-contained HTML file (inline CSS and SVG, no scripts)."""

from __future__ import annotations

import re
from html import escape

from gluebench.report import plots
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

CSS = """
:root { --fg:#111827; --muted:#6b7280; --faint:#9ca3af; --border:#e5e7eb; --zebra:#f8fafc;
  --accent:#0072B2; --page:#f3f4f6; }
* { box-sizing:border-box; }
html { scroll-behavior:smooth; }
body { margin:0; color:var(--fg); background:var(--page);
  font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Noto Sans",
    "Liberation Sans",Arial,sans-serif; -webkit-font-smoothing:antialiased; }
header.top { position:sticky; top:0; z-index:10; background:rgba(255,255,255,.96);
  border-bottom:1px solid var(--border); box-shadow:0 1px 3px rgba(0,0,0,.04); }
header.top .inner { max-width:1100px; margin:0 auto; padding:.55rem 1.25rem; display:flex;
  gap:.35rem 1.25rem; align-items:center; flex-wrap:wrap; }
header.top .brand { font-weight:700; letter-spacing:-.01em; margin-right:.5rem; }
header.top nav { display:flex; flex-wrap:wrap; gap:.15rem .25rem; }
header.top nav a { color:#374151; text-decoration:none; font-size:.85rem; padding:.2rem .55rem;
  border-radius:6px; }
header.top nav a:hover { background:#eef2ff; color:var(--accent); }
main { max-width:1100px; margin:0 auto; padding:.5rem 1.25rem 2.5rem; }
.intro { padding:1.5rem 0 .25rem; }
.intro h1 { margin:0; font-size:1.9rem; letter-spacing:-.02em; }
.intro .meta { color:var(--muted); font-size:.9rem; margin-top:.2rem; }
.chips { display:flex; flex-wrap:wrap; gap:.4rem; margin:.75rem 0 0; padding:0;
  list-style:none; }
.chips li { background:#fff; border:1px solid var(--border); border-radius:999px;
  padding:.15rem .7rem; font-size:.85rem; }
section { background:#fff; border:1px solid var(--border); border-radius:12px;
  padding:1.1rem 1.5rem 1.3rem; margin:1.1rem 0; scroll-margin-top:3.75rem; }
section h2 { margin:0 0 .6rem; font-size:1.3rem; letter-spacing:-.01em; }
section h3 { margin:1.3rem 0 .4rem; font-size:1.05rem; color:#1f2937; }
.table-title { margin:.9rem 0 .3rem; font-size:.9rem; font-weight:600; color:#374151; }
details { margin:.6rem 0; }
details > summary { cursor:pointer; color:var(--accent); }
details > summary::after { content:" (click to show)"; font-weight:400; color:var(--muted); }
details[open] > summary::after { content:""; }
p { margin:.5rem 0; max-width:80ch; }
p.note { color:var(--muted); font-size:.9rem; margin:.3rem 0; }
p.note::before { content:"○ "; color:var(--faint); }
code { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
  font-size:.85em; background:#f3f4f6; border:1px solid var(--border); border-radius:4px;
  padding:.05em .35em; }
.table-wrap { overflow-x:auto; margin:.5rem 0 .9rem; }
table { border-collapse:collapse; width:100%; font-size:.86rem;
  font-variant-numeric:tabular-nums; }
th { text-align:left; font-weight:600; color:#374151; border-bottom:2px solid #d1d5db;
  padding:.45rem .55rem; vertical-align:bottom; }
td { padding:.42rem .55rem; border-bottom:1px solid var(--border); vertical-align:top; }
tbody tr:nth-child(even) td { background:var(--zebra); }
tbody tr:hover td { background:#eff6ff; }
th.r, td.r { text-align:right; }
td.r { white-space:nowrap; }
table.compact { font-size:.8rem; }
table.compact td { padding:.28rem .5rem; }
table.compact td .sub { display:inline; margin-left:.45em; }
table.leaderboard { font-size:.8rem; }
table.leaderboard th, table.leaderboard td { padding:.4rem .32rem; }
table.leaderboard th:first-child, table.leaderboard td:first-child { padding-left:.5rem; }
table.leaderboard td .sub { font-size:.66rem; }
.run { white-space:nowrap; }
table.narrow { font-size:.8rem; }
table.narrow th, table.narrow td { padding:.35rem .4rem; }
table caption { caption-side:bottom; text-align:left; color:var(--muted); font-size:.8rem;
  padding-top:.45rem; }
th .sub, td .sub { display:block; font-size:.74rem; font-weight:400; color:var(--muted);
  white-space:nowrap; }
td strong { font-weight:700; }
.muted { color:var(--faint); }
.sw { display:inline-block; width:.8em; height:.8em; border-radius:3px; margin-right:.45em;
  vertical-align:-.05em; }
figure.plot { margin:.75rem 0 1rem; text-align:center; }
figure.plot svg { max-width:100%; height:auto; }
.grid { display:flex; flex-wrap:wrap; gap:.25rem 1.5rem; align-items:flex-start; }
.grid figure.plot { margin:.25rem 0; }
footer { color:var(--muted); font-size:.8rem; text-align:center; padding:1rem 0 2rem; }
@media print { header.top { position:static; } section { break-inside:avoid-page; } }
"""


def _text(text: str) -> str:
    """Escape plain text, then turn `backticks` into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _cell(cell: Cell) -> str:
    body = _text(cell.text)
    if cell.bold:
        body = f"<strong>{body}</strong>"
    if cell.run is not None:
        body = (f'<span class="run"><span class="sw" style="background:'
                f'{plots.colour(cell.run)}"></span>{body}</span>')
    if cell.sub:
        body += f'<span class="sub">{_text(cell.sub).replace(chr(10), "<br>")}</span>'
    return body


def _header(text: str) -> str:
    def breakable(part: str) -> str:  # long names may wrap after _ and /
        return escape(part).replace("_", "_<wbr>").replace("/", "/<wbr>")

    main, *rest = text.split("\n")
    return breakable(main) + "".join(f'<span class="sub">{breakable(r)}</span>' for r in rest)


def _table(t: Table) -> str:
    out = []
    if t.title and t.collapsed:
        out.append(f'<details><summary class="table-title">{_text(t.title)}</summary>')
    elif t.title:
        out.append(f'<h4 class="table-title">{_text(t.title)}</h4>')
    classes = " ".join(c for c in (("compact" if t.compact else ""), t.css) if c)
    cls = f' class="{classes}"' if classes else ""
    out.append(f'<div class="table-wrap"><table{cls}>')
    if t.caption:
        out.append(f"<caption>{_text(t.caption)}</caption>")
    heads = "".join(f'<th class="{a}" scope="col">{_header(h)}</th>'
                    for h, a in zip(t.headers, t.align, strict=True))
    out.append(f"<thead><tr>{heads}</tr></thead><tbody>")
    for row in t.rows:
        cells = []
        for cell, a in zip(row, t.align, strict=True):
            classes = [a] + (["muted"] if cell.muted else [])
            title = f' title="{escape(cell.title)}"' if cell.title else ""
            cells.append(f'<td class="{" ".join(classes)}"{title}>{_cell(cell)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    if t.title and t.collapsed:
        out.append("</details>")
    return "\n".join(out)


def _figure(f: Figure) -> str:
    return f'<figure class="plot" data-plot="{escape(f.key)}">\n{f.svg}\n</figure>'


def _block(block) -> str:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return _figure(block)
    if isinstance(block, Grid):
        return '<div class="grid">' + "\n".join(_figure(f) for f in block.figures) + "</div>"
    if isinstance(block, Heading):
        return f"<h3>{_text(block.text)}</h3>"
    if isinstance(block, Note):
        return f'<p class="note">{_text(block.text)}</p>'
    return f"<p>{_text(str(block))}</p>"


def render_blocks(blocks) -> str:
    """Report blocks (tables, notes, figures) as HTML, all text escaped; pages embed these."""
    return "\n".join(_block(b) for b in blocks)


def render_report(report: Report) -> str:
    nav = "".join(f'<a href="#{escape(s.id)}">{escape(s.nav)}</a>' for s in report.sections)
    chips = "".join(
        f'<li><span class="sw" style="background:{plots.colour(i)}"></span>{escape(r.name)}</li>'
        for i, r in enumerate(report.runs))
    body = []
    for s in report.sections:
        inner = render_blocks(s.blocks)
        body.append(f'<section id="{escape(s.id)}">\n<h2>{escape(s.title)}</h2>\n{inner}\n'
                    "</section>")
    n = len(report.runs)
    names = [r.name for r in report.runs] + [s.label for s in report.sweeps]
    studies = sum(s.kind == "study" for s in report.sweeps)
    sweeps = len(report.sweeps) - studies
    compared = " · ".join([f"{n} run{'s' if n != 1 else ''} compared"] * bool(n or not
                                                                              report.sweeps)
                          + [f"{sweeps} sweep(s)"] * bool(sweeps)
                          + [f"{studies} stud{'y' if studies == 1 else 'ies'}"] * bool(studies))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gluebench {escape(report.version)}">
<title>{escape(report.title)}: {escape(", ".join(names))}</title>
<style>{CSS}</style>
</head>
<body>
<header class="top"><div class="inner">
<span class="brand">{escape(report.title)}</span>
<nav aria-label="Sections">{nav}</nav>
</div></header>
<main>
<div class="intro">
<h1>{escape(report.title)}</h1>
<div class="meta">Generated {escape(report.generated)} · gluebench {escape(report.version)} ·
{escape(compared)}</div>
<ul class="chips">{chips}</ul>
</div>
{chr(10).join(body)}
<footer>gluebench {escape(report.version)} · generated {escape(report.generated)} ·
self-contained file: no scripts, fonts or images are loaded from elsewhere</footer>
</main>
</body>
</html>
"""


def render_html(runs: list[RunView], sweeps=(), studies=(), suite=None) -> str:
    """One self-contained HTML document comparing ``runs`` (plots inline as SVG)."""
    return render_report(build_report(runs, figures=True, sweeps=list(sweeps),
                                      studies=list(studies), suite=suite))
