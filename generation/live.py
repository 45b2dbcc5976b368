"""Live status: every job change is rendered as HTML partials and pushed to the project's group.

The partials are the same ones the pages render on first load (Django 6
template partials); pushed fragments carry hx-swap-oob so the htmx ws
extension swaps them in place. Progress-only updates are throttled.
"""

import logging
import math
import time
import warnings
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.template.loader import render_to_string

from generation.models import Job, JobStatus

logger = logging.getLogger(__name__)

# Target model label -> a function rendering that object's fragments for a job change, keyed by
# element id (registered by the stage apps). Each page subscribes to the ids it shows.
TARGET_FRAGMENTS: dict[str, list[Callable[[models.Model, Job], dict[str, str]]]] = {}


def register_fragments(label: str, render: Callable[[models.Model, Job], dict[str, str]]) -> None:
    """Add a renderer for a target model; several apps may render the same target (each for its own pages)."""
    TARGET_FRAGMENTS.setdefault(label, []).append(render)


def render_partial(template: str, context: dict) -> str:
    """A partial for a websocket push: no request, so forms rely on the page's CSRF header (see app.js)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"A \{% csrf_token %\} was used", category=UserWarning)
        return render_to_string(template, context)


def group_name(project_id: int) -> str:
    return f"project-{project_id}"


def activity_html(project: models.Model) -> str:
    from generation.selectors import activity_context  # noqa: PLC0415

    return render_partial("projects/project_detail.html#activity", {**activity_context(project), "oob": True})


def push(project_id: int, fragments: dict[str, str]) -> None:
    layer = get_channel_layer()
    fragments = {key: html for key, html in fragments.items() if html.strip()}
    if layer is None or not fragments:
        return
    try:
        async_to_sync(layer.group_send)(group_name(project_id), {"type": "project.html", "fragments": fragments})
    except Exception:
        # Live status is a courtesy: a broken channel layer must never fail a job.
        logger.exception("Could not push live status for project %s", project_id)


def job_changed(job_id: int) -> None:
    job = Job.objects.select_related("project__team", "target_type").filter(pk=job_id).first()
    if job is None or job.project is None:
        return
    throttle = settings.LIVE_PROGRESS_THROTTLE_SECONDS
    if job.status == JobStatus.PROCESSING and throttle:
        # One push per time window. The window is in the key: Redis truncates sub-second timeouts to none.
        window = int(time.time() / throttle)
        if not cache.add(f"live-job-{job_id}-{window}", 1, timeout=max(1, math.ceil(throttle))):
            return
    fragments = {"activity": activity_html(job.project)}
    target = job.target
    renders = TARGET_FRAGMENTS.get(target._meta.label_lower, []) if target is not None else []
    for render in renders:
        fragments.update(render(target, job))
    push(job.project_id, fragments)
