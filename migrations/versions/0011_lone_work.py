"""Lone-worker check-in (docs/lone-work.md, decision 67): the lone_work projection's tables.

* ``check_ins``: one row per check-in, open until ``checked_out_at`` is set; the partial
  index finds the open ones by when they were expected out (the alert rule's query).
* ``worker_timeline``: each worker's own timeline (check-ins and check-outs, also those
  naming them as the second worker); never the tenant's.

A new projection: its tracking row is made when it first runs, from position 0.

Revision ID: 0011_lone_work
Revises: 0012_alerts
Create Date: 2026-12-10
"""

from alembic import op

revision = "0011_lone_work"
down_revision = "0012_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE check_ins (
            id uuid PRIMARY KEY,
            worker_id uuid NOT NULL,
            service text NOT NULL,
            dwelling_id uuid NOT NULL,
            second_worker_id uuid,
            checked_in_at timestamptz NOT NULL,
            expected_until timestamptz NOT NULL,
            checked_out_at timestamptz,
            position bigint NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX check_ins_open_idx ON check_ins (expected_until) WHERE checked_out_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE worker_timeline (
            user_id uuid NOT NULL,
            position bigint NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            summary text NOT NULL,
            PRIMARY KEY (user_id, position)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE worker_timeline")
    op.execute("DROP TABLE check_ins")
    op.execute("DELETE FROM projection_parked WHERE projection = 'lone_work'")
    op.execute("DELETE FROM projection_tracking WHERE projection = 'lone_work'")
