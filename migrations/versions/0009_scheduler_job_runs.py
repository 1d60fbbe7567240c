"""The scheduler's jobs: one row per job, with its last run and its counts (decision 64).

* ``scheduler_jobs``: per job (``backend/scheduler.py``'s registry, by its stable name),
  when its last run started and finished, how it ended, a count of what it did, which
  process and host ran it, and how many runs and failures it has had. A run is recorded
  when it starts and again when it ends, so a run that never ends (a hung job, a leader
  killed mid-run) shows as started after its last finish.

The row keeps only operational facts: the error is an exception's class and message, the
result a count, never a tenant's record.

Revision ID: 0009_job_runs
Revises: 0008
Create Date: 2026-12-04
"""

from alembic import op

revision = "0009_job_runs"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE scheduler_jobs (
            job text PRIMARY KEY,
            runs bigint NOT NULL DEFAULT 0,
            failures bigint NOT NULL DEFAULT 0,
            last_started_at timestamptz,
            last_finished_at timestamptz,
            last_outcome text CHECK (last_outcome IN ('ok', 'failed')),
            last_error text,
            last_result_count bigint,
            last_duration_ms double precision,
            last_success_at timestamptz,
            -- What started the last run: the leader's tick, or `folgja jobs run`.
            last_trigger text CHECK (last_trigger IN ('tick', 'cli')),
            -- The last tick that ran the job, and the interval of the leader that ran it:
            -- the next run is due at their sum.
            last_tick_at timestamptz,
            tick_interval_s double precision,
            last_pid integer,
            last_host text
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE scheduler_jobs")
