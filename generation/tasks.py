"""Dramatiq actors: ids in, a service call out. Retries are the ledger's, not Dramatiq's."""

import dramatiq

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
def sweep_jobs() -> None:
    """On demand only: the periodic sweep runs from generation/periodic.py, not from a message chain."""
    services.sweep()
