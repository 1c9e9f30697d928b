"""Number formatting for the report: every number shown goes through one of these.

Missing values print as an en dash (:data:`DASH`); scores are on the ×100 scale already.
"""

from __future__ import annotations

import math

DASH = "–"
COLLAPSED_MARK = "†"
SUBSAMPLE_MARK = "‡"


def fmt_score(value: float | None, digits: int = 1) -> str:
    return DASH if value is None or is_nan(value) else f"{value:.{digits}f}"


def fmt_ci(ci, scale: float = 1.0) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f"[{scale * ci[0]:.1f}, {scale * ci[1]:.1f}]"


def fmt_delta(value: float | None) -> str:
    return DASH if value is None or is_nan(value) else f"{value:+.1f}"


def fmt_int(value) -> str:
    return DASH if value is None else f"{int(round(value)):,}"


def fmt_pct(fraction: float | None) -> str:
    return DASH if fraction is None else f"{100 * fraction:.1f}%"


def _scaled(value: float | None, units: tuple[tuple[str, float], ...], plain: str,
            digits: int) -> str:
    """``value`` in the largest of ``units`` (name, size) it reaches, else in ``plain``."""
    if value is None:
        return DASH
    for unit, scale in units:
        if value >= scale:
            return f"{value / scale:,.{digits}f} {unit}"
    return f"{value:,.0f} {plain}"


def fmt_bytes(value: float | None) -> str:
    return _scaled(value, (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)), "B", 1)


def fmt_flops(value: float | None) -> str:
    return _scaled(value, (("TFLOPs", 1e12), ("GFLOPs", 1e9), ("MFLOPs", 1e6)), "FLOPs", 2)


def fmt_ms(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:,.2f} ms" if value < 10 else f"{value:,.1f} ms"


def fmt_rate(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f} ex/s"


def fmt_p(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def fmt_frac(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)
