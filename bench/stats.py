"""Percentiles, medians over repeats, and the printed table."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "ms":
        digits = 2 if value < 1 else 1 if value < 100 else 0
        return f"{value:.{digits}f} ms"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "µs":
        return f"{value:.1f} µs"
    if unit == "x":
        return f"{value:.1f} x"
    if unit == "cores":
        return f"{value:.2f}"
    return f"{value:,.0f} {unit}"


@dataclass
class Row:
    figure: str
    runs: list[float]
    unit: str
    target: str = ""
    ok: bool | None = None

    @property
    def value(self) -> float:
        return median(self.runs)


def render(title: str, rows: list[Row]) -> str:
    head = ["figure", "median", "runs", "target"]
    cells = [
        [
            row.figure,
            fmt(row.value, row.unit) if row.runs else "",  # no runs: a heading
            " / ".join(fmt(v, row.unit).split(" ")[0] for v in row.runs),
            row.target + ("" if row.ok is None else (" ok" if row.ok else " MISSED")),
        ]
        for row in rows
    ]
    if not any(c[3] for c in cells):  # no targets: leave the column out
        head = head[:3]
        cells = [c[:3] for c in cells]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    line = "  ".join("-" * w for w in widths)
    out = [title, line, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)), line]
    for c in cells:
        out.append(
            "  ".join(
                (v.rjust(w) if i in (1, 2) else v.ljust(w))
                for i, (v, w) in enumerate(zip(c, widths, strict=True))
            ).rstrip()
        )
    out.append(line)
    return "\n".join(out)
