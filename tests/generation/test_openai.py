"""The real `openai` client against a fake OpenAI-compatible server on loopback."""

import json
from decimal import Decimal

import pytest

from generation import services
from generation.models import Job, JobStatus
from generation.providers.offline import text as offline_text
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

QUESTIONS = offline_text.questions(prompt="A cinematic journey through Tokyo")


def run_text(project, owner) -> Job:
    job = services.job_create(
        project=project, user=owner, capability="text", input={"task": "questions", "prompt": project.prompt}
    )
    return wait_for(lambda: (j := Job.objects.get(pk=job.pk)).is_terminal and j, timeout=20)


def test_it_asks_for_strict_structured_output_and_stores_the_result(project, owner, fake_openai, broker, worker):
    fake_openai.answers = [QUESTIONS]
    job = run_text(project, owner)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.provider, job.model_id) == ("openai", "gpt-4o-mini")
    assert job.output["data"]["result"] == QUESTIONS
    assert job.actual_cost == Decimal("0.00030")  # 500 tokens at $0.0006 per 1,000
    (request,) = fake_openai.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    schema = request["body"]["response_format"]["json_schema"]
    assert schema["name"] == "questions" and schema["strict"] is True
    assert schema["schema"]["additionalProperties"] is False
    assert "A cinematic journey through Tokyo" in request["body"]["messages"][1]["content"]


def test_invalid_json_is_retried_then_reported_plainly(project, owner, fake_openai, broker, worker, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    fake_openai.answers = ["not json at all", json.dumps({"questions": "three"}), '{"questions": []}']
    job = run_text(project, owner)
    assert job.status == JobStatus.FAILED
    assert len(fake_openai.requests) == 3 and job.attempts == 3
    assert job.error.startswith("Gave up after 3 attempts. Last error: The model's answer was not a valid questions")


def test_invalid_json_once_then_valid_succeeds(project, owner, fake_openai, broker, worker):
    fake_openai.answers = ['{"questions": [{"question": "x"}]}', QUESTIONS]
    job = run_text(project, owner)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2


def test_a_429_and_a_500_are_retried_but_a_400_is_not(project, owner, fake_openai, broker, worker):
    fake_openai.answers = [429, 500, QUESTIONS]
    assert run_text(project, owner).status == JobStatus.SUCCEEDED
    assert len(fake_openai.requests) == 3
    fake_openai.answers = [400]
    job = run_text(project, owner)
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "OpenAI refused the request (400)" in job.error


def test_the_client_does_not_retry_on_its_own(project, owner, fake_openai, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    fake_openai.answers = [500, QUESTIONS]
    job = services.job_create(
        project=project, user=owner, capability="text", input={"task": "questions", "prompt": "x"}
    )
    services.job_run(job_id=job.pk)
    assert len(fake_openai.requests) == 1
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED
