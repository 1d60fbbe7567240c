"""The services' boards: address safety register, concern tracker, NAV inbox, handover board.

The handover board reads ``handover_schedule``, which gains the answer and settlement
columns here. Existing rows cannot fill them, so the schedule is emptied and its tracking
reset in the same migration: the runner projects it again from the start of the log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per dwelling (from DwellingRegistered); the flag columns are empty until the
    # address is flagged, and lifted_at is set when the flag is lifted (NULL while active).
    op.execute(
        """
        CREATE TABLE safety_flags (
            dwelling_id uuid PRIMARY KEY,
            address text NOT NULL,
            unit text,
            postcode text,
            kind text,
            reason text,
            review_on date,
            set_by_user uuid,
            set_by_service text,
            set_at timestamptz,
            changed_at timestamptz,
            reviewed_at timestamptz,
            lifted_at timestamptz,
            position bigint NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX safety_flags_active_idx ON safety_flags (address, dwelling_id) "
        "WHERE kind IS NOT NULL AND lifted_at IS NULL"
    )
    op.execute(
        """
        CREATE TABLE safety_flag_history (
            dwelling_id uuid NOT NULL,
            position bigint NOT NULL,
            event_type text NOT NULL,
            kind text NOT NULL,
            reason text NOT NULL,
            review_on date,
            actor_user_id uuid NOT NULL,
            actor_service text NOT NULL,
            occurred_at timestamptz NOT NULL,
            PRIMARY KEY (dwelling_id, position)
        )
        """
    )

    # Never the description or the outcome text: only what a board may show.
    op.execute(
        """
        CREATE TABLE concerns (
            concern_id uuid PRIMARY KEY,
            tenant_id uuid,
            dwelling_id uuid,
            category text NOT NULL,
            status text NOT NULL,
            raised_by_service text NOT NULL,
            raised_at timestamptz NOT NULL,
            routed_to_service text,
            routed_at timestamptz,
            acknowledged_at timestamptz,
            resolved_at timestamptz,
            outcome text,
            escalations integer NOT NULL DEFAULT 0,
            last_escalated_at timestamptz,
            waiting_since timestamptz NOT NULL,
            waiting_ended_at timestamptz,
            position bigint NOT NULL
        )
        """
    )
    # The tracker's order: still waiting first, longest wait first.
    op.execute(
        "CREATE INDEX concerns_waiting_idx "
        "ON concerns ((waiting_ended_at IS NOT NULL), waiting_since, concern_id)"
    )

    # Never NAV's answer text: only the kind of answer.
    op.execute(
        """
        CREATE TABLE nav_inbox (
            notification_id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL,
            rent_case_id uuid NOT NULL,
            trigger text NOT NULL,
            basis text NOT NULL,
            consent_id uuid,
            total_owed_nok integer NOT NULL,
            sent_at timestamptz NOT NULL,
            acknowledged_at timestamptz,
            answered_at timestamptz,
            answer text,
            position bigint NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX nav_inbox_waiting_idx "
        "ON nav_inbox ((acknowledged_at IS NOT NULL), sent_at, notification_id)"
    )

    # The handover board: when each handover was announced, answered and settled, and the
    # contact the receiving service named. Never the decline reason.
    op.execute("TRUNCATE handover_schedule")
    op.execute("DELETE FROM projection_parked WHERE projection = 'handover_schedule'")
    op.execute("UPDATE projection_tracking SET position = 0 WHERE projection = 'handover_schedule'")
    op.execute(
        """
        ALTER TABLE handover_schedule
            ADD COLUMN announced_at timestamptz,
            ADD COLUMN announced_position bigint,
            ADD COLUMN accepted_at timestamptz,
            ADD COLUMN declined_at timestamptz,
            ADD COLUMN contact_worker_id uuid,
            ADD COLUMN settled_at timestamptz,
            ADD COLUMN lapse_reason text
        """
    )
    op.execute(
        "CREATE INDEX handover_schedule_board_idx ON handover_schedule (effective_on, handover_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX handover_schedule_board_idx")
    op.execute(
        """
        ALTER TABLE handover_schedule
            DROP COLUMN announced_at,
            DROP COLUMN announced_position,
            DROP COLUMN accepted_at,
            DROP COLUMN declined_at,
            DROP COLUMN contact_worker_id,
            DROP COLUMN settled_at,
            DROP COLUMN lapse_reason
        """
    )
    op.execute("DROP TABLE nav_inbox")
    op.execute("DROP TABLE concerns")
    op.execute("DROP TABLE safety_flag_history")
    op.execute("DROP TABLE safety_flags")
