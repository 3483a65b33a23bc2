"""Apply the Alembic migrations to a database (used by `make run`, the Procfile and tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from fanapp.config import ROOT


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for this repository, pointed at `database_url`."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision` (the latest by default)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database back to `revision` ("base" empties it)."""
    command.downgrade(alembic_config(database_url), revision)
