"""One-line timeline summaries, one module per area; importing this registers them all."""

from projections.summaries import concerns, handovers, housing, nav, rent, tenants, visits
from projections.summaries.core import Summary, summarize

__all__ = [
    "Summary",
    "concerns",
    "handovers",
    "housing",
    "nav",
    "rent",
    "summarize",
    "tenants",
    "visits",
]
