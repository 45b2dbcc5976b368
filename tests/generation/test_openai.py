"""The real `openai` client against a strict fake of OpenAI on loopback.

The fake holds every request to OpenAI's published strict structured-outputs
contract (generation/contracts/openai/structured_outputs.json) and, unless told
otherwise, answers with a document generated from the schema it was sent, at
the edges of its limits: what a strict-mode model may legally return.
"""

import json
from decimal import Decimal

import httpx
import openai
import pytest
from pydantic import BaseModel, ConfigDict, Field

from generation import schemas, services
from generation.models import Job, JobStatus
from generation.providers.offline import text as offline_text
from tests.fakes.openai import CONTRACT, SENTENCE, Refusal, Truncated, generate
from tests.fixtures_generation import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

QUESTIONS = offline_text.questions(prompt="A cinematic journey through Tokyo")


def run_text(project, owner, task: str = "questions") -> Job:
    """Through the broker and worker: retries happen as in production."""
    job = services.job_create(
        project=project, user=owner, capability="text", input={"task": task, "prompt": project.prompt}
    )
    return wait_for(lambda: (j := Job.objects.get(pk=job.pk)).is_terminal and j, timeout=20)


def run_once(project, owner, task: str = "questions") -> Job:
    """One attempt in this thread, no broker: enough when the job must finish (or fail) at once."""
    job = services.job_create(project=project, user=owner, capability="text", input={"task": task, "prompt": "x"})
    services.job_run(job_id=job.pk)
    return Job.objects.get(pk=job.pk)


def sent_schema(fake, index: int = -1) -> dict:
    return fake.requests[index]["body"]["response_format"]["json_schema"]


def keywords(node: object) -> set[str]:
    """Every schema keyword used (property names are names, not keywords)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            children = value.values() if key in {"properties", "$defs"} else [value]
            for child in children:
                found |= keywords(child)
    elif isinstance(node, list):
        for item in node:
            found |= keywords(item)
    return found


def post(fake, body: dict, *, key: str = "sk-test") -> httpx.Response:
    return httpx.post(f"{fake.url}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})


def request_with(schema: object, *, name: str = "broken", strict: object = True) -> dict:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hello"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}},
    }


def strict_object(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


# What we send ------------------------------------------------------------------


def test_it_asks_for_strict_structured_output_and_stores_the_result(project, owner, fake_openai, broker, worker):
    fake_openai.answers = [QUESTIONS]
    job = run_text(project, owner)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.provider, job.model_id) == ("openai", "gpt-4o-mini")
    assert job.output["data"]["result"] == QUESTIONS
    assert job.actual_cost == Decimal("0.00030")  # 500 tokens at $0.0006 per 1,000
    (request,) = fake_openai.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    schema = sent_schema(fake_openai)
    assert schema["name"] == "Questions" and schema["strict"] is True  # the library names it after the model
    assert schema["schema"]["additionalProperties"] is False
    assert "A cinematic journey through Tokyo" in request["body"]["messages"][1]["content"]


def test_it_sends_our_limits_where_strict_mode_supports_them(project, owner, fake_openai, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    for task in schemas.TASKS:
        assert run_once(project, owner, task).status == JobStatus.SUCCEEDED
    sent = {request["body"]["response_format"]["json_schema"]["name"]: request for request in fake_openai.requests}
    used = set().union(*(keywords(r["body"]["response_format"]["json_schema"]["schema"]) for r in sent.values()))
    assert {"minItems", "maxItems", "minimum", "maximum"} <= used
    # Not in OpenAI's documented strict subset: pydantic enforces these, the schema says them in words.
    assert not used & set(CONTRACT["unsupported_keywords"])
    script = sent["Script"]["body"]["response_format"]["json_schema"]["schema"]
    assert {k: v for k, v in script["properties"]["scenes"].items() if k != "items"} == {
        "maxItems": 20,
        "minItems": 1,
        "title": "Scenes",
        "type": "array",
    }
    duration = script["$defs"]["Scene"]["properties"]["duration"]
    assert (duration["minimum"], duration["maximum"]) == (2, 60)
    questions = sent["Questions"]["body"]["response_format"]["json_schema"]["schema"]
    assert questions["$defs"]["Question"]["properties"]["question"]["description"] == "3 to 300 characters."


def test_it_keeps_the_scene_property_named_title(project, owner, fake_openai, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    job = run_once(project, owner, "script")
    assert job.status == JobStatus.SUCCEEDED, job.error
    scene = sent_schema(fake_openai)["schema"]["$defs"]["Scene"]
    assert "title" in scene["properties"] and "title" in scene["required"]
    assert all(s["title"] == SENTENCE for s in job.output["data"]["result"]["scenes"])


# Round trips at the edges ---------------------------------------------------------

EDGES = {
    ("questions", "max"): lambda r: [len(q["suggested_answers"]) for q in r["questions"]] == [5] * 5,
    ("questions", "min"): lambda r: [len(q["suggested_answers"]) for q in r["questions"]] == [2] * 3,
    ("brief", "max"): lambda r: len(r["characters"]) == len(r["places"]) == 8,
    ("brief", "min"): lambda r: r["characters"] == r["places"] == [],
    ("script", "max"): lambda r: [(s["duration"], len(s["shots"])) for s in r["scenes"]] == [(60, 8)] * 20,
    ("script", "min"): lambda r: [(s["duration"], len(s["shots"])) for s in r["scenes"]] == [(2, 1)],
    ("shots", "max"): lambda r: len(r["shots"]) == 8,
    ("shots", "min"): lambda r: len(r["shots"]) == 1,
}


@pytest.mark.parametrize(("task", "edge"), list(EDGES))
def test_it_round_trips_each_task_at_the_edges_of_its_limits(project, owner, fake_openai, settings, task, edge):
    settings.JOB_MAX_ATTEMPTS = 1
    fake_openai.edge = edge
    job = run_once(project, owner, task)
    assert job.status == JobStatus.SUCCEEDED, job.error
    result = job.output["data"]["result"]
    assert result == generate(sent_schema(fake_openai)["schema"], edge=edge)  # nothing lost on the way
    assert schemas.TASKS[task].model_validate(result).model_dump() == result
    assert EDGES[task, edge](result), result


# Our validation still holds ----------------------------------------------------------


def test_it_still_enforces_string_lengths_the_schema_cannot_carry(project, owner, fake_openai, broker, worker):
    too_long = json.loads(json.dumps(QUESTIONS))
    too_long["questions"][0]["question"] = "Why? " * 61  # 305 characters: schema-true, but over our 300
    fake_openai.answers = [too_long]  # then a generated, valid answer
    job = run_text(project, owner)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2, job.error
    assert len(fake_openai.requests) == 2


def test_an_unusable_answer_is_asked_for_once_more_then_reported_plainly(
    project, owner, fake_openai, broker, worker, settings
):
    """Each answer is paid for: one more sample usually fits, so one, not the five a 503 gets."""
    settings.JOB_MAX_ATTEMPTS = 5
    fake_openai.answers = ["not json at all", json.dumps({"questions": "three"}), '{"questions": []}']
    job = run_text(project, owner)
    assert job.status == JobStatus.FAILED
    assert len(fake_openai.requests) == 2 and job.attempts == 2
    assert job.error.startswith("Gave up after 2 attempts. Last error: The model's answer was not a valid questions")


def test_it_succeeds_after_one_invalid_answer(project, owner, fake_openai, broker, worker):
    fake_openai.answers = ['{"questions": [{"question": "x"}]}', QUESTIONS]
    job = run_text(project, owner)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2


# The fake is as strict as OpenAI ------------------------------------------------------

BROKEN = {
    "no additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    "property not required": strict_object({"a": {"type": "string"}}) | {"required": []},
    "minLength": strict_object({"a": {"type": "string", "minLength": 1}}),
    "oneOf": strict_object({"a": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}),
    "unresolved $ref": strict_object({"a": {"$ref": "#/$defs/Missing"}}),
    "root is an array": {"type": "array", "items": {"type": "string"}},
    "open object inside an array": strict_object(
        {"a": {"type": "array", "items": {"type": "object", "properties": {}, "required": []}}}
    ),
}


@pytest.mark.parametrize(("case", "words"), [
    ("no additionalProperties", "In context=(), 'additionalProperties' is required to be supplied and to be false."),
    ("property not required", "In context=(), 'required' is required to be supplied"),
    ("minLength", "In context=('properties', 'a'), 'minLength' is not permitted."),
    ("oneOf", "In context=('properties', 'a'), 'oneOf' is not permitted."),
    ("unresolved $ref", "reference to component '#/$defs/Missing' which was not found in the schema."),
    ("root is an array", "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"array\"'."),
    ("open object inside an array", "In context=('properties', 'a', 'items'), 'additionalProperties' is required"),
])  # fmt: skip
def test_it_rejects_schemas_that_break_strict_mode(fake_openai, case, words):
    response = post(fake_openai, request_with(BROKEN[case]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("Invalid schema for response_format 'broken': In context=(")
    assert words in error["message"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "response_format", None)


def test_it_rejects_schemas_beyond_the_documented_limits(fake_openai):
    limits = CONTRACT["limits"]
    deep: dict = strict_object({"leaf": {"type": "string"}})
    for _ in range(limits["max_nesting_depth"]):  # one level more than allowed
        deep = strict_object({"child": deep})
    message = post(fake_openai, request_with(deep)).json()["error"]["message"]
    assert f"nesting depth exceeds the maximum of {limits['max_nesting_depth']} levels" in message
    wide = strict_object({f"p{i}": {"type": "integer"} for i in range(limits["max_object_properties"] + 1)})
    message = post(fake_openai, request_with(wide)).json()["error"]["message"]
    assert f"Expected at most {limits['max_object_properties']} object properties" in message
    at_limit = strict_object({f"p{i}": {"type": "integer"} for i in range(limits["max_object_properties"])})
    assert post(fake_openai, request_with(at_limit)).status_code == 200


@pytest.mark.parametrize(("body", "param"), [
    (request_with(strict_object({}), name="has spaces"), "response_format.json_schema.name"),
    (request_with(strict_object({}), name="x" * 65), "response_format.json_schema.name"),
    (request_with(strict_object({}), strict=False), "response_format.json_schema.strict"),
    (request_with(strict_object({})) | {"model": ""}, "model"),
    (request_with(strict_object({})) | {"messages": [{"content": "Hi"}]}, "messages.[0].role"),
    (request_with(strict_object({})) | {"response_format": {"type": "json_object"}}, "response_format"),
])  # fmt: skip
def test_it_rejects_malformed_requests(fake_openai, body, param):
    response = post(fake_openai, body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param


def test_it_rejects_a_wrong_api_key_and_a_broken_schema_through_the_official_client(fake_openai):
    client = openai.OpenAI(api_key="sk-test", base_url=fake_openai.url, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**request_with(BROKEN["minLength"]))
    assert caught.value.body["param"] == "response_format"
    assert "'minLength' is not permitted" in caught.value.body["message"]
    wrong = openai.OpenAI(api_key="sk-wrong", base_url=fake_openai.url, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(**request_with(strict_object({})))
    assert post(fake_openai, request_with(strict_object({})), key="sk-wrong").status_code == 401


def test_it_answers_from_the_schema_it_was_sent():
    schema = strict_object({
        "mood": {"type": "string", "enum": ["calm", "tense"]},
        "code": {"type": "string", "pattern": "^[a-z]+$"},
        "when": {"type": "string", "format": "date"},
        "maybe": {"anyOf": [{"type": "integer", "exclusiveMaximum": 10, "multipleOf": 3}, {"type": "null"}]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "minItems": 1, "maxItems": 2},
    }) | {"$defs": {"Tag": strict_object({"label": {"type": ["string", "null"]}})}}  # fmt: skip
    assert generate(schema, edge="max") == {
        "mood": "calm",
        "code": "tokyo",
        "when": "2026-01-02",
        "maybe": 9,
        "tags": [{"label": SENTENCE}, {"label": SENTENCE}],
    }
    assert generate(schema, edge="min")["tags"] == [{"label": SENTENCE}]


# Our provider's error policy ---------------------------------------------------------------


class _Careless(BaseModel):
    """A model written with plain length limits, as someone might add one: pydantic emits minLength."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=3)


def test_it_fails_at_once_when_openai_rejects_the_schema(project, owner, fake_openai, settings, monkeypatch):
    settings.JOB_MAX_ATTEMPTS = 3
    monkeypatch.setitem(schemas.TASKS, "questions", _Careless)
    job = run_once(project, owner)
    assert job.status == JobStatus.FAILED and job.attempts == 1 and len(fake_openai.requests) == 1
    assert job.error == (
        "OpenAI refused the request (400): Invalid schema for response_format '_Careless': "
        "In context=('properties', 'question'), 'minLength' is not permitted."
    )


def test_it_fails_at_once_with_a_wrong_api_key(project, owner, fake_openai, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    settings.OPENAI_API_KEY = "sk-wrong"
    job = run_once(project, owner)
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert job.error.startswith("OpenAI refused the request (401): Incorrect API key provided")


def test_it_retries_a_429_and_a_500_but_not_a_400(project, owner, fake_openai, broker, worker):
    fake_openai.answers = [429, 500, QUESTIONS]
    assert run_text(project, owner).status == JobStatus.SUCCEEDED
    assert len(fake_openai.requests) == 3
    fake_openai.answers = [400]
    job = run_text(project, owner)
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "OpenAI refused the request (400)" in job.error


def test_it_fails_clearly_when_the_model_refuses(project, owner, fake_openai, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    fake_openai.answers = [Refusal("I can't help with that.")]
    job = run_once(project, owner)
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert job.error == "OpenAI declined to write the questions: I can't help with that."


def test_it_retries_an_answer_cut_off_at_the_token_limit(project, owner, fake_openai, broker, worker, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    fake_openai.answers = [Truncated(), Truncated()]
    job = run_text(project, owner)
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert "cut off at the token limit before the questions was complete" in job.error
    fake_openai.answers = [Truncated()]  # then a generated, complete answer
    job = run_text(project, owner)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2


def test_it_leaves_retries_to_the_job_ledger(project, owner, fake_openai, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    fake_openai.answers = [500, QUESTIONS]
    assert run_once(project, owner).status == JobStatus.FAILED
    assert len(fake_openai.requests) == 1
