"""Dramatiq actors: ids in, a service call out. Retries are the ledger's, not Dramatiq's."""

import dramatiq
from django.conf import settings
from django.core.cache import cache

from generation import services


@dramatiq.actor(queue_name="jobs", max_retries=0, time_limit=30 * 60 * 1000)
def run_job(job_id: int) -> None:
    services.job_run(job_id=job_id)


@dramatiq.actor(queue_name="jobs", max_retries=0, time_limit=5 * 60 * 1000)
def poll_job(job_id: int) -> None:
    services.job_poll(job_id=job_id)


@dramatiq.actor(queue_name="webhooks", max_retries=3, min_backoff=1000)
def process_webhook(delivery_id: int) -> None:
    services.webhook_process(delivery_id=delivery_id)


@dramatiq.actor(queue_name="sweeper", max_retries=0)
def sweep_jobs(reschedule: bool = True) -> None:
    try:
        services.sweep()
    finally:
        # One periodic chain per deployment (the cache key marks the next run as scheduled); it survives a failed sweep.
        interval = settings.SWEEP_INTERVAL_SECONDS
        if reschedule and cache.add("sweeper-scheduled", 1, timeout=interval - 1):
            sweep_jobs.send_with_options(args=(True,), delay=interval * 1000)
