"""Alerts (docs/alerts.md): each alert's state, and who was told of it.

* ``alerts``: one row per alert (rule, subject, period, tier reached, acknowledged or
  cleared); ``raised_position`` orders inboxes, newest first.
* ``concerns.raised_by_user``: who raised a concern (told when it is escalated).
* ``alert_recipients``: one row per person told, with the tier that told them.

Revision ID: 0012_alerts
Revises: 0009_job_runs
Create Date: 2026-12-04
"""

from alembic import op

revision = "0012_alerts"
down_revision = "0009_job_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE alerts (
            alert_id uuid PRIMARY KEY,
            rule text NOT NULL,
            subject_id uuid NOT NULL,
            period text NOT NULL,
            tenant_id uuid,
            dwelling_id uuid,
            due_since timestamptz NOT NULL,
            raised_at timestamptz NOT NULL,
            tier integer NOT NULL,
            tier_since timestamptz NOT NULL,
            acknowledged_by uuid,
            acknowledged_at timestamptz,
            cleared_at timestamptz,
            raised_position bigint NOT NULL,
            position bigint NOT NULL
        )
        """
    )
    # The time rules ask for a rule's open alerts at every run.
    op.execute(
        "CREATE INDEX alerts_open_idx ON alerts (rule) "
        "WHERE acknowledged_at IS NULL AND cleared_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE alert_recipients (
            user_id uuid NOT NULL,
            alert_id uuid NOT NULL,
            tier integer NOT NULL,
            PRIMARY KEY (user_id, alert_id)
        )
        """
    )
    op.execute("CREATE INDEX alert_recipients_alert_idx ON alert_recipients (alert_id)")
    # A concern's raiser is told when it is escalated: the tracker keeps who raised it,
    # refilled from the log by the projection (it starts again from position 0).
    op.execute("TRUNCATE concerns")
    op.execute("ALTER TABLE concerns ADD COLUMN raised_by_user uuid")
    op.execute("DELETE FROM projection_parked WHERE projection = 'concern_tracker'")
    op.execute("UPDATE projection_tracking SET position = 0 WHERE projection = 'concern_tracker'")


def downgrade() -> None:
    op.execute("ALTER TABLE concerns DROP COLUMN raised_by_user")
    op.execute("DROP TABLE alert_recipients")
    op.execute("DROP TABLE alerts")
