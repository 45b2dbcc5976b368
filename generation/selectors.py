from datetime import timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from generation.models import Job, JobStatus
from projects.models import VideoProject

ACTIVITY_SIZE = 8


def recent_jobs(*, project: VideoProject, limit: int = ACTIVITY_SIZE) -> list[Job]:
    return list(Job.objects.filter(project=project).select_related("ai_model").order_by("-created_at", "-id")[:limit])


def activity_context(project: VideoProject) -> dict[str, object]:
    from generation.services import project_spend, team_month_spend  # noqa: PLC0415

    counts = Job.objects.filter(project=project).aggregate(
        active=Count("pk", filter=Q(status__in=[JobStatus.QUEUED, JobStatus.SUBMITTED, JobStatus.PROCESSING])),
        failed=Count("pk", filter=Q(status=JobStatus.FAILED)),
    )
    return {
        "project": project,
        "jobs": recent_jobs(project=project),
        "job_counts": counts,
        "project_spend": project_spend(project=project),
        "team_spend": team_month_spend(team=project.team),
    }


def provider_health(*, hours: int = 24) -> QuerySet:
    """Success rate and latency per provider model over the last hours."""
    since = timezone.now() - timedelta(hours=hours)
    latency = ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())
    return (
        Job.objects.filter(created_at__gte=since)
        .values("provider", "model_id")
        .annotate(
            total=Count("pk"),
            succeeded=Count("pk", filter=Q(status=JobStatus.SUCCEEDED)),
            failed=Count("pk", filter=Q(status=JobStatus.FAILED)),
            active=Count("pk", filter=Q(status__in=[JobStatus.QUEUED, JobStatus.SUBMITTED, JobStatus.PROCESSING])),
            avg_latency=Avg(latency, filter=Q(status=JobStatus.SUCCEEDED)),
        )
        .order_by("provider", "model_id")
    )
