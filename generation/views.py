import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from generation import services, webhooks
from generation.models import Job
from generation.selectors import activity_context
from projects.access import project_for
from projects.models import Role

MAX_WEBHOOK_BYTES = 1024 * 1024


@csrf_exempt  # authenticated by its signature instead
@require_POST
def replicate_webhook(request: HttpRequest) -> HttpResponse:
    if not settings.REPLICATE_WEBHOOK_SECRET:
        return JsonResponse({"error": "Webhooks are not configured (REPLICATE_WEBHOOK_SECRET)."}, status=503)
    if len(request.body) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"error": "Payload too large."}, status=413)
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        verified = webhooks.verify(secret=settings.REPLICATE_WEBHOOK_SECRET, headers=headers, body=request.body)
        payload = json.loads(request.body)
    except webhooks.SignatureError as error:
        return JsonResponse({"error": str(error)}, status=401)
    except ValueError:
        return JsonResponse({"error": "The body is not JSON."}, status=400)
    if not isinstance(payload, dict) or not payload.get("id"):
        return JsonResponse({"error": "The payload has no prediction id."}, status=400)
    _, created = services.webhook_store(webhook_id=verified.webhook_id, timestamp=verified.timestamp, payload=payload)
    return JsonResponse({"received": True, "duplicate": not created}, status=202 if created else 200)


@login_required
@require_GET
def project_activity(request: HttpRequest, project_id: int) -> HttpResponse:
    project = project_for(request, project_id)
    return render(request, "projects/project_detail.html#activity", activity_context(project))


@login_required
@require_POST
def job_cancel(request: HttpRequest, project_id: int, job_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    job = get_object_or_404(Job, pk=job_id, project=project)
    if services.job_cancel(job=job):
        messages.success(request, "Canceled. Nothing more will be spent on it.")
    else:
        messages.info(request, f"That job had already {job.status}.")
    return _back(request, project)


@login_required
@require_POST
def job_retry(request: HttpRequest, project_id: int, job_id: int) -> HttpResponse:
    project = project_for(request, project_id, minimum=Role.EDITOR)
    job = get_object_or_404(Job, pk=job_id, project=project)
    try:
        services.job_retry(job=job)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Queued again as a new job.")
    return _back(request, project)


def _back(request: HttpRequest, project: object) -> HttpResponse:
    if request.htmx:
        return render(request, "projects/project_detail.html#activity", activity_context(project))
    return redirect(project)
