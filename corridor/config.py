"""Where corridor keeps its data, from the environment (no config file needed for the default)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_HOME = Path.home() / ".local" / "share" / "corridor"
DEFAULT_MAX_DOCUMENT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    max_document_bytes: int
    timezone: str = "Asia/Karachi"  # how the dashboard and the brief show times, unless a user picks another
    tile_url: str | None = None  # a raster tile server (e.g. an internal one); None: the bundled offline basemap

    @property
    def database_path(self) -> Path | None:
        """The SQLite file, when the store is SQLite."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None

    @property
    def display_url(self) -> str:
        """The store's URL as it may be printed: a PostgreSQL password shows as ***."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return self.database_url


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Settings from CORRIDOR_HOME / CORRIDOR_DATABASE_URL / CORRIDOR_MAX_DOCUMENT_BYTES / CORRIDOR_TIMEZONE /
    CORRIDOR_TILE_URL.

    The default store is SQLite at $CORRIDOR_HOME/corridor.db (CORRIDOR_HOME defaults to
    ~/.local/share/corridor)."""
    env = dict(os.environ) if env is None else env
    home = Path(env.get("CORRIDOR_HOME") or DEFAULT_HOME).expanduser()
    url = env.get("CORRIDOR_DATABASE_URL") or f"sqlite:///{(home / 'corridor.db').resolve()}"
    raw_max = env.get("CORRIDOR_MAX_DOCUMENT_BYTES")
    try:
        max_bytes = int(raw_max) if raw_max else DEFAULT_MAX_DOCUMENT_BYTES
    except ValueError as exc:
        raise ValueError(f"CORRIDOR_MAX_DOCUMENT_BYTES must be an integer, got {raw_max!r}") from exc
    tz = env.get("CORRIDOR_TIMEZONE") or "Asia/Karachi"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"CORRIDOR_TIMEZONE: unknown time zone {tz!r}") from exc
    tiles = env.get("CORRIDOR_TILE_URL") or None
    if tiles and not (tiles.startswith(("http://", "https://")) and "{z}" in tiles and "{x}" in tiles):
        raise ValueError(f"CORRIDOR_TILE_URL must be an http(s) URL with {{z}}, {{x}} and {{y}}, got {tiles!r}")
    return Settings(home=home, database_url=url, max_document_bytes=max_bytes, timezone=tz, tile_url=tiles)
