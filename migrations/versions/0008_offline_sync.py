"""Offline sync v1 (docs/sync-protocol.md): what each device pushed, what became of it,
what it holds, which flag versions it has, and the review of field data kept aside.

* ``sync_items``: every item a device pushed, as received (never changed, never deleted:
  field data is never lost).
* ``sync_outcomes``: what became of an item. Written in the same transaction as the
  events the item produced, and keyed like the item, so no item is applied twice and no
  outcome is lost (decision 55).
* ``sync_reviews``: a team lead's resolution of an item kept for review.
* ``sync_devices``: per device, the highest sequence number decided (repeated in every
  pull) and the safety-flag position the device confirmed holding.
* ``sync_cursors``: the pull cursors handed out; presenting one acknowledges its page.
* ``sync_device_tenants``: the tenants a device holds, as acknowledged.
* ``sync_purges``: when a device was told to purge a tenant, and when it said it had.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A pull reads each held tenant's open concerns, and asks whether any changed.
    op.execute("CREATE INDEX concerns_tenant_idx ON concerns (tenant_id, position)")
    # Every pull asks for the flag versions after the device's flags_through.
    op.execute("CREATE INDEX safety_flags_position_idx ON safety_flags (position)")
    op.execute(
        """
        CREATE TABLE sync_devices (
            device_id uuid PRIMARY KEY REFERENCES devices (id),
            decided_through bigint NOT NULL DEFAULT 0,
            flags_through bigint NOT NULL DEFAULT 0,
            flags_confirmed_at timestamptz,
            last_push_at timestamptz,
            last_pull_at timestamptz,
            clock_skew_seconds integer
        )
        """
    )
    op.execute(
        """
        CREATE TABLE sync_items (
            device_id uuid NOT NULL REFERENCES devices (id),
            seq bigint NOT NULL,
            item_id uuid NOT NULL UNIQUE,
            user_id uuid NOT NULL,
            command_type text NOT NULL,
            command jsonb NOT NULL,
            tenant_version integer,
            occurred_at timestamptz NOT NULL,
            received_at timestamptz NOT NULL,
            PRIMARY KEY (device_id, seq)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE sync_outcomes (
            device_id uuid NOT NULL,
            seq bigint NOT NULL,
            status text NOT NULL,
            tenant_id uuid,
            position bigint,
            review_reasons text[] NOT NULL DEFAULT '{}',
            problem jsonb,
            decided_at timestamptz NOT NULL,
            PRIMARY KEY (device_id, seq),
            FOREIGN KEY (device_id, seq) REFERENCES sync_items (device_id, seq)
        )
        """
    )
    op.execute(
        "CREATE INDEX sync_outcomes_review_idx ON sync_outcomes (decided_at) "
        "WHERE status <> 'applied'"
    )
    op.execute(
        "CREATE INDEX sync_outcomes_tenant_idx ON sync_outcomes (tenant_id) "
        "WHERE tenant_id IS NOT NULL AND status <> 'applied'"
    )
    op.execute(
        """
        CREATE TABLE sync_reviews (
            device_id uuid NOT NULL,
            seq bigint NOT NULL,
            resolved_at timestamptz NOT NULL,
            resolved_by uuid NOT NULL,
            note text NOT NULL,
            PRIMARY KEY (device_id, seq),
            FOREIGN KEY (device_id, seq) REFERENCES sync_outcomes (device_id, seq)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE sync_cursors (
            cursor_id uuid PRIMARY KEY,
            device_id uuid NOT NULL REFERENCES devices (id),
            base_position bigint NOT NULL,
            target_position bigint,
            after_tenant uuid,
            page_tenants uuid[] NOT NULL,
            issued_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX sync_cursors_device_idx ON sync_cursors (device_id, issued_at)")
    op.execute(
        """
        CREATE TABLE sync_device_tenants (
            device_id uuid NOT NULL REFERENCES devices (id),
            tenant_id uuid NOT NULL,
            held_since timestamptz NOT NULL,
            purge_asked_at timestamptz,
            PRIMARY KEY (device_id, tenant_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE sync_purges (
            device_id uuid NOT NULL REFERENCES devices (id),
            tenant_id uuid NOT NULL,
            asked_at timestamptz NOT NULL,
            purged_at timestamptz NOT NULL,
            PRIMARY KEY (device_id, tenant_id, purged_at)
        )
        """
    )


def downgrade() -> None:
    for table in (
        "sync_purges",
        "sync_device_tenants",
        "sync_cursors",
        "sync_reviews",
        "sync_outcomes",
        "sync_items",
        "sync_devices",
    ):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP INDEX concerns_tenant_idx")
    op.execute("DROP INDEX safety_flags_position_idx")
