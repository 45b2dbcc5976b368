"""Periodic maintenance that needs no queue message to exist.

The sweeper used to be a chain of delayed Redis messages: when Redis restarted
empty, or a worker died holding the next link, nothing swept again until a
worker was restarted by hand. Now every worker process (and the embedded
worker) runs a small ticker thread; each tick claims whatever is due by a
conditional UPDATE of its PeriodicRun row (portable, and crash-safe: a claim
simply expires after the interval), so with any number of processes each task
runs about once per interval, and it runs as long as one process is alive and
the database answers. `manage.py sweep_jobs --loop` runs the same ticker as a
process of its own, for deployments that want it outside the workers.

Apps register their tasks in AppConfig.ready(); the engine knows none of them.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connections
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    name: str
    interval: Callable[[], float]  # seconds, read at each tick so settings overrides apply
    run: Callable[[], object]


_tasks: dict[str, Task] = {}


def register(name: str, *, interval: Callable[[], float], run: Callable[[], object]) -> None:
    _tasks[name] = Task(name=name, interval=interval, run=run)


def registered() -> list[str]:
    return sorted(_tasks)


def _claim(task: Task) -> bool:
    from generation.models import PeriodicRun  # noqa: PLC0415 - registered before the models load

    now = timezone.now()
    try:
        PeriodicRun.objects.get_or_create(name=task.name)
    except IntegrityError:
        pass  # another process created it a moment ago
    due = Q(last_started_at__isnull=True) | Q(last_started_at__lte=now - timedelta(seconds=task.interval()))
    return bool(PeriodicRun.objects.filter(due, name=task.name).update(last_started_at=now))


def run_due() -> list[str]:
    """Run every registered task whose interval has passed and that no other process claimed. Returns their names."""
    from django.db.models import F  # noqa: PLC0415

    from generation.models import PeriodicRun  # noqa: PLC0415

    ran = []
    for task in list(_tasks.values()):
        try:
            if not _claim(task):
                continue
        except Exception:
            logger.exception("Periodic %s: could not claim (is the database up?)", task.name)
            continue
        ran.append(task.name)
        failed = False
        try:
            result = str(task.run())
        except Exception as error:
            # Redis down, say: the rows are still the truth and the next tick tries again.
            logger.exception("Periodic %s failed", task.name)
            result, failed = f"failed: {type(error).__name__}: {error}", True
        try:
            PeriodicRun.objects.filter(name=task.name).update(
                last_finished_at=timezone.now(),
                last_result=result[:300],
                runs=F("runs") + 1,
                failures=F("failures") + int(failed),
            )
        except Exception:
            logger.exception("Periodic %s: could not record the run", task.name)
    return ran


class Ticker:
    """A daemon thread calling run_due() every `every` seconds until stopped."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="videopipe-periodic", daemon=True)

    def start(self) -> "Ticker":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run_forever(self) -> None:
        self._loop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_due()
            finally:
                # Pooled or not, this thread must not sit on a connection between ticks.
                connections.close_all()
            self._stop.wait(self.every)
