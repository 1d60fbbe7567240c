"""Read models: projection runners write them from the event log; their queries live here."""
