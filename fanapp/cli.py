"""Flask commands: `flask --app fanapp upgrade-db`."""

from __future__ import annotations

import click
from flask import Flask, current_app

from fanapp import migrate


def init_app(app: Flask) -> None:
    """Register the commands."""

    @app.cli.command("upgrade-db")
    def upgrade_db() -> None:
        """Apply the database migrations."""
        migrate.upgrade(current_app.config["SETTINGS"].database_url)
        click.echo("database is up to date")
