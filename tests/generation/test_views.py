"""Costs and jobs in the app: the overview's activity panel, cancel, retry, and the team's spend."""

from decimal import Decimal

import pytest
from django.urls import reverse

from generation import services
from generation.models import Job, JobStatus

pytestmark = pytest.mark.django_db

VIDEO = {"image": "a.png", "duration": 5}


@pytest.fixture
def priced(settings):
    settings.REPLICATE_API_TOKEN = "r8_x"


def test_the_overview_shows_jobs_with_provider_status_and_costs(owner_client, project, owner, priced):
    job = services.job_create(project=project, user=owner, capability="video", input=VIDEO)
    html = owner_client.get(project.get_absolute_url()).content.decode()
    assert f'id="job-{job.pk}"' in html
    # Wan 2.5 at 720p (the default resolution) costs $0.10 a second: 5 s.
    assert "Replicate" in html and "wan-video/wan-2.5-i2v" in html and "~$0.500" in html
    assert "Spent on this project: <b>$0.50</b>" in html
    assert "this month: <b>$0.50</b> of $50.00" in html


def test_the_activity_partial_serves_htmx(owner_client, project):
    response = owner_client.get(reverse("project_activity", args=[project.pk]), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="activity"') and "<html" not in html
    assert "Nothing generated yet" in html


def test_an_editor_cancels_and_retries(client, teammate, project, owner, priced):
    job = services.job_create(project=project, user=owner, capability="video", input=VIDEO)
    client.force_login(teammate)
    response = client.post(reverse("job_cancel", args=[project.pk, job.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Canceled" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED and job.error == "Canceled by a user."
    client.post(reverse("job_retry", args=[project.pk, job.pk]))
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 1
    again = client.post(reverse("job_cancel", args=[project.pk, job.pk]), follow=True)
    assert "That job had already canceled" in again.content.decode()


def test_a_retry_over_budget_says_so(client, teammate, project, owner, team, priced):
    job = services.job_create(project=project, user=owner, capability="video", input=VIDEO)
    services.job_fail(job=job, error="boom")
    team.monthly_budget = Decimal("0.10")
    team.save()
    client.force_login(teammate)
    response = client.post(reverse("job_retry", args=[project.pk, job.pk]), follow=True)
    assert "monthly budget" in response.content.decode()
    assert Job.objects.count() == 1


def test_the_team_page_shows_the_months_spend(owner_client, team, project, owner, priced):
    services.job_create(project=project, user=owner, capability="video", input={"image": "a.png", "duration": 10})
    html = owner_client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "Spent this month: <b>$1.00</b> of $50.00" in html


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    return client


def test_the_console_lists_jobs_deliveries_and_the_registry(staff_client, project, owner, priced):
    job = services.job_create(project=project, user=owner, capability="video", input=VIDEO)
    for name in ["job", "aimodel", "capabilityroute", "webhookdelivery"]:
        assert staff_client.get(reverse(f"admin:generation_{name}_changelist")).status_code == 200, name
    page = staff_client.get(reverse("admin:generation_job_changelist"), {"status__exact": "queued", "age": "1h"})
    assert list(page.context["cl"].result_list) == [job]
    assert staff_client.get(reverse("admin:generation_job_change", args=[job.pk])).status_code == 200
    teams = staff_client.get(reverse("admin:projects_team_changelist")).content.decode()
    assert "$0.50" in teams
    projects = staff_client.get(reverse("admin:projects_videoproject_changelist")).content.decode()
    assert "$0.50" in projects


def test_the_console_cancels_retries_and_sweeps(staff_client, project, owner, priced):
    job = services.job_create(project=project, user=owner, capability="video", input=VIDEO)
    url = reverse("admin:generation_job_changelist")
    staff_client.post(url, {"action": "cancel_jobs", "_selected_action": [job.pk]})
    assert Job.objects.get(pk=job.pk).status == JobStatus.CANCELED
    staff_client.post(url, {"action": "retry_jobs", "_selected_action": [job.pk]})
    assert Job.objects.filter(status=JobStatus.QUEUED).count() == 1
    response = staff_client.post(url, {"action": "run_sweeper", "_selected_action": [job.pk]}, follow=True)
    assert "Sweeper: requeued" in response.content.decode()


def test_the_provider_health_view_reports_rates_and_latency(staff_client, project, owner):
    ok = services.job_create(project=project, user=owner, capability="image", input={"prompt": "x"})
    bad = services.job_create(project=project, user=owner, capability="image", input={"prompt": "y"})
    services.job_complete(job_id=ok.pk, result=services.Completed())
    services.job_fail(job=bad, error="boom")
    response = staff_client.get(reverse("admin:generation_job_health"))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert (row["model_id"], row["total"], row["succeeded"], row["failed"], row["success_rate"]) == (
        "offline/pillow-image",
        2,
        1,
        1,
        50.0,
    )
    assert row["avg_latency"] is not None
