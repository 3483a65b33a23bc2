"""Flask commands: `flask --app fanapp upgrade-db`."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask, current_app

from fanapp import privacy
from fanapp.data import migrate
from fanapp.data.session import get_session


def init_app(app: Flask) -> None:
    """Register the commands."""

    @app.cli.command("upgrade-db")
    def upgrade_db() -> None:
        """Apply the database migrations."""
        migrate.upgrade(current_app.config["SETTINGS"].database_url)
        click.echo("database is up to date")

    @app.cli.command("purge")
    @click.option(
        "--days", type=int, default=None, help="Retention in days (default: HISTORY_RETENTION_DAYS)."
    )
    def purge_command(days: int | None) -> None:
        """Delete imported histories older than the retention period (run daily)."""
        keep = days if days is not None else current_app.config["SETTINGS"].retention_days
        with get_session() as session:
            done = privacy.purge(session, older_than=timedelta(days=keep))
        click.echo(f"purged listeners={done.listeners} drafts={done.episodes} older_than_days={keep}")

    @app.cli.command("watchdog")
    def watchdog_command() -> None:
        """Fail stuck imports (deleting their tokens) and queue lost ones again (the workers do it too)."""
        from fanapp.importing import watchdog

        with get_session() as session:
            done = watchdog.sweep(session, current_app.config["SETTINGS"])
        click.echo(f"watchdog failed={done.failed} restarted={done.restarted}")
