"""Report figures, drawn with matplotlib and returned as inline SVG strings.

Every function returns ``None`` when there is nothing to draw. One module per report section:
:mod:`.scores` (task bars, AX heatmap, seed spread), :mod:`.robustness`, :mod:`.efficiency`
and :mod:`.quality`; :mod:`.style` holds the palette, the matplotlib style and the SVG export.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # never a GUI backend, even if pyplot gets imported elsewhere

from gluebench.report.plots.efficiency import pareto  # noqa: E402
from gluebench.report.plots.quality import confusion, reliability  # noqa: E402
from gluebench.report.plots.robustness import (  # noqa: E402
    advglue_dumbbell,
    perturbation_heatmap,
    significant,
)
from gluebench.report.plots.scores import ax_heatmap, seed_spread, task_bars  # noqa: E402
from gluebench.report.plots.style import (  # noqa: E402
    DIVERGING,
    NOT_SIGNIFICANT,
    PALETTE,
    STYLE,
    WIDE,
    colour,
    label,
)

__all__ = [
    "DIVERGING", "NOT_SIGNIFICANT", "PALETTE", "STYLE", "WIDE", "advglue_dumbbell", "ax_heatmap",
    "colour", "confusion", "label", "pareto", "perturbation_heatmap", "reliability",
    "seed_spread", "significant", "task_bars",
]
