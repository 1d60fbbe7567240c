"""One-line timeline summaries, one module per area; importing this registers them all."""

from projections.summaries import (
    alerts,
    concerns,
    handovers,
    housing,
    nav,
    rent,
    tenants,
    visits,
)
from projections.summaries.core import Summary, summarize

__all__ = [
    "Summary",
    "alerts",
    "concerns",
    "handovers",
    "housing",
    "nav",
    "rent",
    "summarize",
    "tenants",
    "visits",
]
