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


class AppWorker(Worker):
    """An RQ worker whose jobs (and failure callbacks) run inside the fanapp app's context."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app: Flask = create_app()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """Work with the app's context pushed, so callbacks run in the parent find it too."""
        with self.app.app_context():
            return bool(super().work(*args, **kwargs))

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        """Each job in a fresh app context of its own (its own `g`, its own database session)."""
        with self.app.app_context():
            return bool(super().perform_job(job, queue, execution))
