"""Wiring: the HTTP app, settings, database start-up, projection runners and the CLI."""
