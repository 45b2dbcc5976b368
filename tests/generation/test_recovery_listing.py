"""A prediction whose create answer was lost is found again through Replicate's real, paged list.

GET /v1/predictions answers 100 predictions a page, newest first, with `next`
cursor URLs and created_after / created_before filters; list items carry no
webhook (generation/contracts/replicate/README.md, "List predictions"). So a
busy account pushes a lost prediction onto page 2 and beyond, and only the full
prediction says whose it is. The fake serves the list that way, with a small
page so a handful of predictions make several pages.

Olivia's worker dies (or the answer to its create is lost) after Replicate has
made the prediction: the next attempt must adopt that prediction, not pay for
another, and never adopt someone else's.
"""

import logging
from datetime import timedelta

import httpx
import pytest
import replicate

from generation import services
from generation.models import Job, JobStatus
from generation.providers import replicate_api

pytestmark = pytest.mark.django_db(transaction=True)

AUTH = {"Authorization": "Bearer test-token"}
IMAGE = {"prompt": "Cinematic wide shot, Tokyo Tower at dawn", "aspect_ratio": "16:9", "seed": 42}
FLUX = "/v1/models/black-forest-labs/flux-schnell/predictions"


@pytest.fixture
def small_pages(fake_replicate):
    fake_replicate.switches.list_page_size = 3
    return fake_replicate


@pytest.fixture
def via_webhooks(settings, small_pages):
    # Nothing listens there: deliveries fail, which is the fake's business; the URL is what matters.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    return small_pages


def others(fake, count: int) -> list[str]:
    """Predictions someone else on the account makes after ours: same model, other prompts."""
    made = []
    for n in range(count):
        response = httpx.post(f"{fake.url}{FLUX}", json={"input": {"prompt": f"another shot {n}"}}, headers=AUTH)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    return made


def lose_answer(fake, job: Job) -> str:
    """Run the job's first attempt; Replicate makes the prediction but the answer never arrives."""
    before = set(fake.predictions)
    fake.switches.create_then_error = [500]
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.prediction_id == "" and job.attempt_started_at is not None and job.status == JobStatus.QUEUED
    (lost,) = set(fake.predictions) - before
    return lost


def rerun(job: Job) -> Job:
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def page_of(fake, prediction_id: str) -> int:
    ordered = sorted(fake.predictions.values(), key=lambda p: (p.created_at, p.seq), reverse=True)
    index = [p.id for p in ordered].index(prediction_id)
    return index // fake.switches.list_page_size + 1


# The fake's list is the real one's shape -----------------------------------------------------------


def test_the_list_is_paged_newest_first_with_cursor_urls_the_official_client_follows(small_pages):
    made = others(small_pages, 7)
    client = replicate.Client(api_token="test-token", base_url=small_pages.url)
    pages = list(replicate.paginate(client.predictions.list))
    assert [len(page.results) for page in pages] == [3, 3, 1]
    assert [p.id for page in pages for p in page.results] == made[::-1]
    assert pages[0].next.startswith(f"{small_pages.url}/v1/predictions?") and "cursor=" in pages[0].next
    assert pages[0].previous is None and pages[-1].next is None
    # previous leads back to the page before.
    back = client.predictions.list(pages[1].previous)
    assert [p.id for p in back.results] == [p.id for p in pages[0].results]
    item = httpx.get(f"{small_pages.url}/v1/predictions", headers=AUTH).json()["results"][0]
    assert {"id", "model", "version", "status", "created_at", "urls", "source", "input"} <= set(item)
    assert "webhook" not in item and "logs" not in item


def test_the_list_filters_by_creation_time_and_keeps_the_filters_in_next(small_pages):
    made = others(small_pages, 5)
    created = {p.id: p.created_at for p in small_pages.predictions.values()}
    since, until = created[made[0]], created[made[4]]
    first = httpx.get(
        f"{small_pages.url}/v1/predictions",
        params={"created_after": since, "created_before": until, "unknown": "ignored"},
        headers=AUTH,
    ).json()
    assert [p["id"] for p in first["results"]] == [made[3], made[2], made[1]]
    assert "created_after=" in first["next"] and "created_before=" in first["next"]
    rest = httpx.get(first["next"], headers=AUTH).json()
    assert [p["id"] for p in rest["results"]] == [made[0]] and rest["next"] is None  # after inclusive, before not
    bad = httpx.get(f"{small_pages.url}/v1/predictions", params={"created_after": "yesterday"}, headers=AUTH)
    assert bad.status_code == 400
    forged = httpx.get(f"{small_pages.url}/v1/predictions", params={"cursor": "not-a-cursor"}, headers=AUTH)
    assert forged.status_code == 404


# Recovery -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["webhooks", "polling"])
def test_a_lost_prediction_on_a_later_page_is_adopted_not_paid_for_twice(
    request, project, owner, small_pages, broker, mode
):
    fake = request.getfixturevalue("via_webhooks") if mode == "webhooks" else small_pages
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    lost = lose_answer(fake, job)
    others(fake, 7)
    assert page_of(fake, lost) == 3
    job = rerun(job)
    assert job.prediction_id == lost and job.status == JobStatus.SUBMITTED
    assert len(fake.creates) == 1 + 7
    assert len(fake.listings) == 3  # followed `next` to the page that holds it, and no further


def test_in_webhook_mode_two_jobs_with_the_same_input_each_adopt_their_own(project, owner, via_webhooks, broker):
    jobs = [services.job_create(project=project, user=owner, capability="image", input=IMAGE) for _ in range(2)]
    lost = [lose_answer(via_webhooks, job) for job in jobs]
    others(via_webhooks, 4)
    recovered = [rerun(job) for job in jobs]
    assert [job.prediction_id for job in recovered] == lost
    for job, prediction_id in zip(recovered, lost, strict=True):
        assert via_webhooks.predictions[prediction_id].webhook.endswith(f"?job={job.pk}")
    assert len(via_webhooks.creates) == 2 + 4


def test_in_polling_mode_two_jobs_with_the_same_input_adopt_neither(project, owner, small_pages, broker, caplog):
    # Nothing tells the two apart: adopting either could hand Olivia the other job's picture, so both pay again.
    jobs = [services.job_create(project=project, user=owner, capability="image", input=IMAGE) for _ in range(2)]
    lost = [lose_answer(small_pages, job) for job in jobs]
    others(small_pages, 4)
    with caplog.at_level(logging.INFO, logger="generation.providers.replicate_api"):
        recovered = [rerun(job) for job in jobs]
    assert all(job.prediction_id and job.prediction_id not in lost for job in recovered)
    assert len(small_pages.creates) == 2 + 4 + 2
    assert "2 predictions match" in caplog.text


def test_without_a_webhook_on_the_prediction_its_inputs_decide(project, owner, via_webhooks, broker):
    # The documented prediction object has no webhook field; the inputs (the seed included) still identify it.
    via_webhooks.switches.webhook_in_payload = False
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    sibling = services.job_create(project=project, user=owner, capability="image", input=IMAGE | {"seed": 7})
    lost = lose_answer(via_webhooks, job)
    lose_answer(via_webhooks, sibling)
    others(via_webhooks, 4)
    assert rerun(job).prediction_id == lost


@pytest.mark.parametrize("when", ["before the attempt", "after the lease"])
def test_a_matching_prediction_outside_the_attempts_window_is_not_adopted(
    settings, project, owner, small_pages, broker, when
):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    lost = lose_answer(small_pages, job)
    others(small_pages, 4)
    started = job.attempt_started_at
    moved = (
        started - timedelta(minutes=1)
        if when == "before the attempt"
        else started + timedelta(seconds=settings.JOB_SUBMIT_LEASE_SECONDS + 60)
    )
    small_pages.predictions[lost].created_at = moved.isoformat().replace("+00:00", "Z")
    job = rerun(job)
    assert job.prediction_id and job.prediction_id != lost
    assert len(small_pages.creates) == 1 + 4 + 1


def test_a_prediction_already_in_the_ledger_is_never_adopted_again(project, owner, small_pages, broker):
    done = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    services.job_run(job_id=done.pk)
    done.refresh_from_db()
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE | {"seed": 7})
    lost = lose_answer(small_pages, job)
    # The recorded twin now has the lost one's inputs: only the ledger keeps it out.
    small_pages.predictions[done.prediction_id].input = dict(small_pages.predictions[lost].input)
    assert rerun(job).prediction_id == lost


def test_the_page_cap_holds_on_a_list_that_never_reaches_the_window(
    project, owner, small_pages, broker, monkeypatch, caplog
):
    monkeypatch.setattr(replicate_api, "LIST_PAGE_CAP", 2)
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    lost = lose_answer(small_pages, job)
    others(small_pages, 9)
    assert page_of(small_pages, lost) == 4
    with caplog.at_level(logging.INFO, logger="generation.providers.replicate_api"):
        job = rerun(job)
    assert len(small_pages.listings) == 2
    assert job.prediction_id and job.prediction_id != lost  # not sure it saw everything: it does not guess
    assert "pages" in caplog.text


def test_a_next_url_on_another_host_is_not_followed(project, owner, small_pages, broker, monkeypatch):
    # The token goes only to Replicate: a page pointing elsewhere ends the search.
    from tests.fakes import replicate_records

    real = replicate_records.prediction_page

    def elsewhere(*args, **kwargs):
        page = real(*args, **kwargs)
        if page["next"]:
            page["next"] = page["next"].replace(small_pages.url, "https://elsewhere.invalid")
        return page

    monkeypatch.setattr("tests.fakes.replicate.prediction_page", elsewhere)
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    lose_answer(small_pages, job)
    others(small_pages, 7)
    job = rerun(job)
    assert len(small_pages.listings) == 1 and job.prediction_id


def test_a_failing_progress_mirror_does_not_lose_the_recorded_prediction(
    project, owner, pending_image, small_pages, broker, monkeypatch
):
    # The target's handler is feature code: if showing "submitted" on the shot fails, the prediction
    # Replicate is already running (and billing) must still be on the job, not rolled back with it.
    def broken(job):
        raise RuntimeError("the shot's handler broke")

    monkeypatch.setattr(services, "_mirror_progress", broken)
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    (prediction,) = small_pages.predictions
    assert job.prediction_id == prediction and job.status == JobStatus.SUBMITTED


def test_a_frozen_workers_late_prediction_is_canceled_when_the_job_already_has_one(project, owner, small_pages, broker):
    # Worker A is frozen after sending its create; past the lease worker B takes the job over and makes
    # its own prediction. When A wakes to its answer, the job keeps B's and A's is stopped, not billed.
    small_pages.switches.hold = True
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)
    services.job_run(job_id=job.pk)
    job.refresh_from_db()
    kept = job.prediction_id
    late = replicate_api.ReplicateProvider().start(job).prediction_id
    assert late != kept
    services._record_submission(job, late)
    job.refresh_from_db()
    assert job.prediction_id == kept
    assert small_pages.predictions[late].status == "canceled"
    assert small_pages.predictions[kept].status != "canceled"
