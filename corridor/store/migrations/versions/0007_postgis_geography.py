"""postgis geography for incidents and sites (PostgreSQL only)

On PostgreSQL, incidents and sites get a geography(Point,4326) column derived from lat/lon by a trigger (so
every write path, the ORM, imports and hand-written SQL alike, keeps it in step) and GiST indexes for radius
(geography) and longitude/latitude box (geometry) queries; corridor/store/spatial.py uses them. SQLite stores
are left as they are: they keep their lat/lon columns and h3 cells.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 13:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("incidents", "sites")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # a no-op where the database administrator created it already (PostGIS needs a superuser to create)
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # out-of-range coordinates would make the geography cast fail the whole write: they get no point instead
    op.execute(
        """
        CREATE FUNCTION corridor_point_geog() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.lat IS NULL OR NEW.lon IS NULL OR NEW.lat NOT BETWEEN -90 AND 90
               OR NEW.lon NOT BETWEEN -180 AND 180 THEN
                NEW.geog := NULL;
            ELSE
                NEW.geog := geography(ST_SetSRID(ST_MakePoint(NEW.lon, NEW.lat), 4326));
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ADD COLUMN geog geography(Point, 4326)")
        op.execute(
            f"CREATE TRIGGER {table}_geog BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION corridor_point_geog()"
        )
        op.execute(f"UPDATE {table} SET lat = lat")  # existing rows get their point through the trigger
        op.execute(f"CREATE INDEX ix_{table}_geog ON {table} USING gist (geog)")
        op.execute(f"CREATE INDEX ix_{table}_geog_geometry ON {table} USING gist ((geog::geometry))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_geog ON {table}")
        op.execute(f"DROP INDEX ix_{table}_geog_geometry")
        op.execute(f"DROP INDEX ix_{table}_geog")
        op.execute(f"ALTER TABLE {table} DROP COLUMN geog")
    op.execute("DROP FUNCTION corridor_point_geog()")
