"""The NAV delivery outbox: one row per delivery of a NAV notification to NAV's endpoint.

Written by the ``nav_outbox`` projection in the transaction of its tracking row, so each
``NavNotificationSent`` (and each re-delivery an alert asks for) gives exactly one row;
the delivery worker (``backend/nav_delivery.py``) sends the pending ones and marks them
delivered or dead. ``delivery_id`` is the ``Idempotency-Key`` NAV sees on every attempt.

The outbox starts at the log's head: notifications sent before it existed are in NAV's
inbox already and are not pushed again (decision 66).

Revision ID: 0010_nav_outbox
Revises: 0011_lone_work
Create Date: 2026-12-04
"""

from alembic import op

revision = "0010_nav_outbox"
down_revision = "0011_lone_work"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE nav_outbox (
            delivery_id uuid PRIMARY KEY,
            notification_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('delivery', 'redelivery')),
            payload jsonb NOT NULL,
            state text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            last_error text,
            delivered_at timestamptz,
            created_at timestamptz NOT NULL,
            position bigint NOT NULL
        )
        """
    )
    # The worker's claim: the pending rows that are due, the earliest first.
    op.execute(
        "CREATE INDEX nav_outbox_due_idx ON nav_outbox (next_attempt_at, delivery_id) "
        "WHERE state = 'pending'"
    )
    # The admin's list: by state, oldest first.
    op.execute("CREATE INDEX nav_outbox_state_idx ON nav_outbox (state, created_at, delivery_id)")
    op.execute("CREATE INDEX nav_outbox_notification_idx ON nav_outbox (notification_id)")
    op.execute(
        """
        INSERT INTO projection_tracking (projection, position)
        SELECT 'nav_outbox', coalesce(max(notification_id), 0) FROM folgja_events
        ON CONFLICT (projection) DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute("DELETE FROM projection_parked WHERE projection = 'nav_outbox'")
    op.execute("DELETE FROM projection_tracking WHERE projection = 'nav_outbox'")
    op.execute("DROP TABLE nav_outbox")
