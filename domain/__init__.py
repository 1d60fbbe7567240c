"""The booppfølging domain: events, aggregates, invariants and rules.

Pure code: no HTTP, no SQL, no clock reads. Time is always passed in.
"""
