"""Text through the official openai client with strict structured outputs.

OPENAI_BASE_URL points it at any OpenAI-compatible server. The client's own
retries are off (max_retries=0): the job ledger retries, with backoff, and
counts attempts. An answer that is not valid JSON for the task's schema is a
transient failure (a second sample usually fixes it), reported plainly once
the attempts run out.
"""

import json
from decimal import Decimal
from typing import TYPE_CHECKING

import openai
from django.conf import settings
from pydantic import ValidationError

from generation import schemas
from generation.providers.base import Completed, ProviderError, RemoteState, TransientError

if TYPE_CHECKING:
    from generation.models import Job

SYSTEM = (
    "You are the planning assistant of Videopipe, a tool for small video teams. "
    "Answer only with JSON that matches the given schema. Keep every text short, concrete and visual."
)
INSTRUCTIONS = {
    "questions": "Ask 3 to 5 clarifying questions about this video idea, each with 2 to 5 suggested answers.",
    "brief": "Write the creative brief: tone, audience, style, pacing, key message, recurring characters and places "
    "with short visual descriptions that keep shots consistent.",
    "script": "Draft the script as scenes (title, description, narration, duration in seconds) with 1 to 4 shots each "
    "(description, framing, and an image prompt that carries the brief's style and the character descriptions). "
    "Scene durations should add up to the target duration.",
    "shots": "Redraft the shots of this one scene (description, framing, image prompt carrying the brief's style).",
}


class InvalidOutputError(TransientError):
    pass


class OpenAIProvider:
    name = "openai"
    synchronous = True  # answers within the call

    def __init__(self) -> None:
        self.client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL or None,
            max_retries=0,
            timeout=90.0,
        )

    def start(self, job: "Job") -> Completed:
        task = job.input.get("task")
        if task not in schemas.TASKS:
            raise ProviderError(f"Unknown text task {task!r}.")
        context = {k: v for k, v in job.input.items() if k != "task"}
        try:
            response = self.client.chat.completions.create(
                model=job.model_id,
                messages=[
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"{INSTRUCTIONS[task]}\n\n{json.dumps(context, ensure_ascii=False)}"},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": task, "schema": schemas.json_schema(task), "strict": True},
                },
            )
        except (
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APITimeoutError,
            openai.APIConnectionError,
        ) as exc:
            raise TransientError(f"OpenAI: {exc}") from exc
        except openai.APIStatusError as exc:
            raise ProviderError(f"OpenAI refused the request ({exc.status_code}): {exc.message}") from exc
        content = (response.choices[0].message.content or "") if response.choices else ""
        try:
            result = schemas.TASKS[task].model_validate_json(content).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "the answer"
            raise InvalidOutputError(
                f"The model's answer was not a valid {task} ({where}: {first.get('msg')})"
            ) from exc
        usage = response.usage
        tokens = (usage.prompt_tokens + usage.completion_tokens) if usage else 0
        return Completed(data={"result": result}, metrics={"tokens": tokens}, actual_cost=self._cost(job, tokens))

    @staticmethod
    def _cost(job: "Job", tokens: int) -> Decimal | None:
        if not job.ai_model or not tokens:
            return None
        return (job.ai_model.unit_price * Decimal(tokens) / 1000).quantize(Decimal("0.00001"))

    def poll(self, job: "Job") -> RemoteState:
        raise ProviderError("OpenAI answers within the call; there is nothing to poll.")

    def cancel(self, job: "Job") -> None:
        """Nothing to cancel remotely: the call has either finished or never started."""

    def find_submitted(self, job: "Job") -> str | None:
        return None
