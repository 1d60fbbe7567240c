"""Sync integrity and clock skew (issue 13; docs/sync-protocol.md, decision 69).

* ``sync_device_tenants.version``: the tenant's version the device holds, as acknowledged
  (the version on the page whose cursor it presented); ``sync_cursors.page_versions``
  the versions of a page's tenants, in the order of ``page_tenants``. The server's
  checksum of what a device holds is made from these. Rows from before have no version:
  such a device's first checksum does not match, and it resyncs once.
* ``sync_devices.resync_asked_at``: when the device was last told to resync (its
  checksum did not match).
* ``sync_items.clock_skew_seconds``: the device's clock offset (device minus server)
  measured when the item arrived; an item from a device further off than
  ``FOLGJA_MAX_CLOCK_SKEW_S`` is marked ``device_clock_skew``.
* ``sync_devices.clock_measured_at``: when ``clock_skew_seconds`` was last measured (at
  every push and pull that carries ``device_time``).

Revision ID: 0013_sync_integrity
Revises: 0010_nav_outbox
Create Date: 2026-12-04
"""

from alembic import op

revision = "0013_sync_integrity"
down_revision = "0010_nav_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE sync_device_tenants ADD COLUMN version integer")
    op.execute("ALTER TABLE sync_cursors ADD COLUMN page_versions integer[] NOT NULL DEFAULT '{}'")
    op.execute("ALTER TABLE sync_devices ADD COLUMN resync_asked_at timestamptz")
    op.execute("ALTER TABLE sync_items ADD COLUMN clock_skew_seconds integer")
    op.execute("ALTER TABLE sync_devices ADD COLUMN clock_measured_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE sync_devices DROP COLUMN clock_measured_at")
    op.execute("ALTER TABLE sync_items DROP COLUMN clock_skew_seconds")
    op.execute("ALTER TABLE sync_devices DROP COLUMN resync_asked_at")
    op.execute("ALTER TABLE sync_cursors DROP COLUMN page_versions")
    op.execute("ALTER TABLE sync_device_tenants DROP COLUMN version")
