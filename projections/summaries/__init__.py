"""One-line timeline summaries, one module per area; importing this registers them all."""

from projections.summaries import tenants, visits
from projections.summaries.core import Summary, summarize

__all__ = ["Summary", "summarize", "tenants", "visits"]
