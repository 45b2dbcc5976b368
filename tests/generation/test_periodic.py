"""The periodic ticker: the sweep runs from the database's clock, not from a chain of Redis messages."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from generation import periodic
from generation.models import PeriodicRun
from videopipe.broker import PeriodicTicker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counter(monkeypatch):
    """A registered task that counts its runs; the real ones are left out of the way."""
    calls: list[float] = []
    monkeypatch.setattr(periodic, "_tasks", {})
    periodic.register("count", interval=lambda: 60, run=lambda: calls.append(time.monotonic()) or "counted")
    return calls


def test_it_runs_a_due_task_once_per_interval_whoever_ticks(counter):
    assert periodic.run_due() == ["count"]
    assert periodic.run_due() == []  # a second process ticking in the same interval
    assert len(counter) == 1
    row = PeriodicRun.objects.get(name="count")
    assert row.runs == 1 and row.last_result == "counted" and row.last_finished_at
    PeriodicRun.objects.filter(name="count").update(last_started_at=timezone.now() - timedelta(seconds=61))
    assert periodic.run_due() == ["count"]
    assert len(counter) == 2


def test_it_records_a_failed_run_and_runs_again_next_interval(monkeypatch):
    monkeypatch.setattr(periodic, "_tasks", {})

    def broken():
        raise ConnectionError("Redis is restarting")

    periodic.register("broken", interval=lambda: 60, run=broken)
    assert periodic.run_due() == ["broken"]
    row = PeriodicRun.objects.get(name="broken")
    assert row.failures == 1 and "Redis is restarting" in row.last_result
    PeriodicRun.objects.filter(name="broken").update(last_started_at=timezone.now() - timedelta(minutes=2))
    assert periodic.run_due() == ["broken"]
    assert PeriodicRun.objects.get(name="broken").failures == 2


def test_concurrent_tickers_run_a_task_once(counter):
    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def tick():
        barrier.wait()
        results.append(periodic.run_due())

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert len(counter) == 1


def test_a_booting_worker_ticks_without_any_message_and_stops_with_it(counter, settings):
    settings.SWEEPER_AUTOSTART = True
    settings.PERIODIC_TICK_SECONDS = 1
    middleware = PeriodicTicker()
    middleware.after_worker_boot(None, None)
    try:
        deadline = time.monotonic() + 10
        while not counter and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(counter) == 1
        PeriodicRun.objects.filter(name="count").update(last_started_at=timezone.now() - timedelta(minutes=2))
        deadline = time.monotonic() + 10
        while len(counter) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(counter) == 2
    finally:
        middleware.before_worker_shutdown(None, None)
    assert middleware.ticker is None


def test_no_ticker_when_autostart_is_off(counter, settings):
    settings.SWEEPER_AUTOSTART = False
    middleware = PeriodicTicker()
    middleware.after_worker_boot(None, None)
    assert middleware.ticker is None


def test_the_apps_register_the_sweep_and_the_storage_policy():
    assert {"sweep_jobs", "cleanup_segments"} <= set(periodic.registered())


def test_sweep_jobs_loop_runs_the_registered_tasks(counter, monkeypatch, settings):
    settings.PERIODIC_TICK_SECONDS = 1
    loops = []

    def once(self):
        loops.append(periodic.run_due())

    monkeypatch.setattr(periodic.Ticker, "run_forever", once)
    call_command("sweep_jobs", "--loop")
    assert loops == [["count"]]


def test_the_default_timings_bring_every_job_back_within_two_minutes():
    """What the chaos tests check at a twelfth of the scale: lease or quiet period, then a sweep, then a tick."""
    from django.conf import settings

    sweep_lag = settings.SWEEP_INTERVAL_SECONDS + settings.PERIODIC_TICK_SECONDS
    killed_while_submitting = settings.JOB_SUBMIT_LEASE_SECONDS + sweep_lag
    killed_after_submitting = settings.SWEEP_QUIET_SECONDS + sweep_lag
    assert max(killed_while_submitting, killed_after_submitting) <= 120
    # The lease must outlive the create call, or a second worker could submit while the first still waits.
    assert settings.JOB_SUBMIT_LEASE_SECONDS > settings.REPLICATE_TIMEOUT_SECONDS
