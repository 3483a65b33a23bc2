"""The RQ entry point (Procfile `worker:`): `rq worker --worker-class fanapp.worker.AppWorker …`.

The app is built once, in the worker's parent process, before RQ forks a work horse for each job: a
horse inherits it and runs the job inside its own app context, so no job pays for importing and
building the app again.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import Worker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue

from fanapp import create_app

# How often each worker runs RQ's maintenance (registries) and the import watchdog's sweep.
MAINTENANCE_SECONDS = 30


class AppWorker(Worker):
    """An RQ worker whose jobs (and failure callbacks) run inside the fanapp app's context.

    `rq worker-pool -n IMPORT_WORKERS --worker-class fanapp.worker.AppWorker` (the Procfile) runs
    several: imports spend their time waiting on Spotify, so they run side by side, all taking their
    calls from the one shared budget. Each worker builds the app once and forks a work horse per job.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
        super().__init__(*args, **kwargs)
        self.app: Flask = create_app()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """Work with the app's context pushed, so callbacks run in the parent find it too."""
        with self.app.app_context():
            return bool(super().work(*args, **kwargs))

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        """Each job in a fresh app context of its own (its own `g`, its own database session)."""
        # In the forked horse: never reuse the parent's pooled database connections (their sockets are
        # shared with the parent); `close=False` leaves them open for the parent.
        self.app.extensions["fanapp.engine"].dispose(close=False)
        with self.app.app_context():
            return bool(super().perform_job(job, queue, execution))

    def run_maintenance_tasks(self) -> None:
        """RQ's own maintenance, then the import watchdog: stuck imports failed, lost jobs queued again."""
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        from fanapp.data.session import get_session
        from fanapp.importing import watchdog

        try:
            with self.app.app_context(), get_session() as session:
                done = watchdog.sweep(session, self.app.config["SETTINGS"])
        except Exception:  # the sweep must never stop the worker; the next tick tries again
            self.log.exception("import watchdog sweep failed")
            return
        if done.failed or done.restarted:
            self.log.info("import watchdog: failed=%s restarted=%s", done.failed, done.restarted)
