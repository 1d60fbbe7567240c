"""Benchmarks for Folgja: `python -m bench` (see docs/benchmarks.md).

Everything runs against one fresh database on one PostgreSQL server, in one run, so the
product's figures can be read against the raw insert rate measured next to them.
"""
