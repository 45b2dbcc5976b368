"""Dramatiq broker glue.

django_dramatiq builds the broker from settings.DRAMATIQ_BROKER. In the
embedded default that is a StubBroker, whose queues live in this process, so
the web process must also consume them: start_embedded_worker() runs a
Dramatiq worker with threads beside Daphne. In production the broker is Redis
and separate `manage.py rundramatiq` processes consume it.
"""

import logging
import threading

import dramatiq
from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from dramatiq.brokers.stub import StubBroker

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_worker: dramatiq.Worker | None = None


def start_embedded_worker() -> dramatiq.Worker | None:
    global _worker  # noqa: PLW0603 - one worker per process
    broker = dramatiq.get_broker()
    if not settings.EMBEDDED_WORKER or not isinstance(broker, StubBroker):
        return None
    with _lock:
        if _worker is None:
            # Importing the tasks modules declares the actors and their queues.
            autodiscover_modules(*settings.DRAMATIQ_AUTODISCOVER_MODULES)
            broker.emit_after("process_boot")
            _worker = dramatiq.Worker(broker, worker_threads=settings.EMBEDDED_WORKER_THREADS, worker_timeout=100)
            _worker.start()
            logger.info("Embedded Dramatiq worker started with %s threads", settings.EMBEDDED_WORKER_THREADS)
    return _worker


class PeriodicTicker(dramatiq.Middleware):
    """Runs the periodic maintenance ticker (generation/periodic.py) in every worker process.

    A thread, not a chain of delayed messages: it keeps sweeping after Redis restarts
    empty or a worker dies holding the next message.
    """

    def __init__(self) -> None:
        self.ticker = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if not settings.SWEEPER_AUTOSTART or self.ticker is not None:
            return
        from generation.periodic import Ticker  # noqa: PLC0415 - apps are loaded by now

        self.ticker = Ticker(every=settings.PERIODIC_TICK_SECONDS).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None
