"""The look shared by every report figure: palette, matplotlib style, SVG export, legends.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, so no global
state and no GUI backend; rasterising, where needed, goes through Agg). Text is drawn
as glyph paths so the SVG looks the same in any browser with no fonts installed.
"""

from __future__ import annotations

import html
import io
import re

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch

# Okabe-Ito: distinguishable under the common colour-vision deficiencies (yellow last:
# it is the one with poor contrast on white).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#F0E442")
DIVERGING = "RdBu"  # red = worse / negative, blue = better / positive
NOT_SIGNIFICANT = "#e5e7eb"

STYLE = {
    "svg.fonttype": "path",
    "svg.hashsalt": "gluebench-report",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#6b7280",
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
    "xtick.color": "#374151",
    "ytick.color": "#374151",
    "legend.frameon": False,
    "legend.fontsize": 9,
    "hatch.color": "#9ca3af",
    "hatch.linewidth": 0.8,
}

WIDE = 10.0  # inches; 720pt = 960 CSS px, the report's content width


def colour(index: int) -> str:
    """The colour of the index-th run; the same run keeps it in every figure."""
    return PALETTE[index % len(PALETTE)]


def label(text: str, limit: int = 28) -> str:
    """A run or category name made safe for matplotlib text (no mathtext) and short."""
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def to_svg(fig: Figure, alt: str) -> str:
    """The figure as an inline <svg> element with an accessible label, stable across runs."""
    buf = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.08,
                    metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(alt)}" ', 1).strip()


def new_figure(width: float, height: float) -> Figure:
    """An empty figure (size in inches) with the report style and constrained layout."""
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def styled(fn):
    """Run a plotting function under the report style (axes read rcParams when created)."""
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def run_legend(fig: Figure, names: list[str], indices: list[int], extra=(), ncol=None):
    """A legend above the figure: one colour swatch per run, then the ``extra`` handles."""
    handles = [Patch(facecolor=colour(i), label=label(n)) for n, i in zip(names, indices,
                                                                          strict=True)]
    handles += list(extra)
    fig.legend(handles=handles, loc="outside upper center",
               ncol=ncol or min(len(handles), 5), handlelength=1.2, columnspacing=1.4)


def human(value: float) -> str:
    """Tick label: 2, 50, 1.5k, 20M, 3G."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:g}{unit}"
    return f"{value:g}"


def text_colour(rgba) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgba``."""
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "#111827"
