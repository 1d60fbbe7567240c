"""The risk timeline as a server-rendered SVG: the score over time (the facts in log
order, evenly spaced, the first and last date under them) as a step line on the levels'
coloured bands, one marker per fact, each with its reasons in a ``<title>`` (shown
on hover). The same points are in a table under the chart for screen readers and print.

No JavaScript and no chart library: the markup is built here, every text escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from itertools import pairwise

from backend.web.i18n import Labels, datetime_no
from domain.risk import LEVEL_THRESHOLDS, RiskLevel, level_for

WIDTH, HEIGHT = 800, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 36
# The bands' fills (light, so the line and markers keep their contrast) and the markers'.
BAND = {
    RiskLevel.LOW: "#e3f1e6",
    RiskLevel.MODERATE: "#fbefd5",
    RiskLevel.HIGH: "#f8ddd3",
    RiskLevel.CRITICAL: "#f1d0d0",
}
MARK = {
    RiskLevel.LOW: "#1d6b32",
    RiskLevel.MODERATE: "#8a5a00",
    RiskLevel.HIGH: "#b3411b",
    RiskLevel.CRITICAL: "#8b0000",
}


@dataclass(frozen=True)
class Point:
    at: datetime
    score: int
    level: RiskLevel
    summary: str
    reasons: tuple[str, ...]


def _x(index: int, count: int) -> float:
    """The facts evenly spaced in log order (many come on one day; the dates are in the
    markers' titles and the table)."""
    return LEFT + (WIDTH - LEFT - RIGHT) * (index / max(count - 1, 1))


def _y(score: float, top_score: int) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - score / top_score)


def risk_svg(points: Sequence[Point], t: Labels, *, title_id: str = "risk-chart-title") -> str:
    """The chart's ``<svg>``; an empty string when there is nothing to draw."""
    if not points:
        return ""
    start, end, count = points[0].at, points[-1].at, len(points)
    top_score = max(max(p.score for p in points) + 2, LEVEL_THRESHOLDS[0][0] + 2)
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{title_id}" '
        f'focusable="false">',
        f'<title id="{title_id}">{escape(t["risk_chart_title"])}</title>',
    ]
    # The levels' bands, from each threshold up to the next.
    bounds = [0, *sorted(th for th, _ in LEVEL_THRESHOLDS), top_score]
    for low, high in pairwise(bounds):
        level = level_for(low)
        y_top, y_low = _y(high, top_score), _y(low, top_score)
        parts.append(
            f'<rect x="{LEFT}" y="{y_top:.1f}" width="{WIDTH - LEFT - RIGHT}" '
            f'height="{y_low - y_top:.1f}" fill="{BAND[level]}"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{(y_top + y_low) / 2 + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#1a1a1a">{escape(t["risk_" + level.value])}</text>'
        )
    # The axes: the first and the last fact's date under the line.
    base = HEIGHT - BOTTOM
    parts.append(
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#4a4a4a"/>'
    )
    for at, anchor, x_text in (
        (start, "start", LEFT),
        (end, "end", WIDTH - RIGHT),
    ):
        parts.append(
            f'<text x="{x_text}" y="{base + 20}" text-anchor="{anchor}" font-size="12" '
            f'fill="#1a1a1a">{escape(datetime_no(at))}</text>'
        )
    # The score as a step line: it holds until the next fact changes it.
    path: list[str] = []
    for i, p in enumerate(points):
        x, y = _x(i, count), _y(p.score, top_score)
        if i == 0:
            path.append(f"M{x:.1f},{y:.1f}")
        else:
            path.append(f"H{x:.1f}V{y:.1f}")
    parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="#1a1a1a" stroke-width="2"/>')
    for i, p in enumerate(points):
        x, y = _x(i, count), _y(p.score, top_score)
        hover = f"{datetime_no(p.at)}: {p.summary}. {t['risk']}: {t['risk_' + p.level.value]}"
        hover += f" ({p.score})"
        if p.reasons:
            hover += ". " + "; ".join(p.reasons)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{MARK[p.level]}" '
            f'stroke="#fff" stroke-width="1.5"><title>{escape(hover)}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)
