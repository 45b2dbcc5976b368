"""Text through the official openai client with strict structured outputs.

`client.chat.completions.parse(response_format=<pydantic model>)` lets the
library build the strict JSON schema from generation/schemas.py (its own
`to_strict_json_schema`, not a rewrite of ours) and validate the answer with
the same model. What OpenAI's strict mode accepts is recorded in
generation/contracts/openai/structured_outputs.json.

OPENAI_BASE_URL points it at any OpenAI-compatible server. The client's own
retries are off (max_retries=0): the job ledger retries, with backoff, and
counts attempts. An answer that fails our validation or was cut off at the
token limit is a transient failure (a second sample usually fixes it),
reported plainly once the attempts run out. A refusal, a content-filter stop
and any 4xx but 429 fail at once: asking again gets the same answer.
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
    """A paid answer that fails our checks: one more sample usually fits, a third rarely does."""

    attempts_cap = 2


def _describe(task: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "the answer"
    return f"The model's answer was not a valid {task} ({where}: {first.get('msg')})"


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
        model = schemas.TASKS[task]
        context = {k: v for k, v in job.input.items() if k != "task"}
        try:
            response = self.client.chat.completions.parse(
                model=job.model_id,
                messages=[
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": f"{INSTRUCTIONS[task]}\n\n{json.dumps(context, ensure_ascii=False)}"},
                ],
                response_format=model,
            )
        except (
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APITimeoutError,
            openai.APIConnectionError,
        ) as exc:
            raise TransientError(f"OpenAI: {exc}") from exc
        except openai.APIStatusError as exc:
            # The body's own message names the broken part (e.g. which schema keyword); the rest is noise.
            detail = exc.body.get("message") if isinstance(exc.body, dict) else None
            raise ProviderError(f"OpenAI refused the request ({exc.status_code}): {detail or exc.message}") from exc
        except openai.LengthFinishReasonError as exc:
            raise InvalidOutputError(
                f"The model's answer was cut off at the token limit before the {task} was complete."
            ) from exc
        except openai.ContentFilterFinishReasonError as exc:
            raise ProviderError(
                f"OpenAI's content filter stopped the {task}; rephrase the idea and try again."
            ) from exc
        except ValidationError as exc:  # parse() validates the content with our model
            raise InvalidOutputError(_describe(task, exc)) from exc
        message = response.choices[0].message if response.choices else None
        if message is not None and message.refusal:
            raise ProviderError(f"OpenAI declined to write the {task}: {message.refusal}")
        if message is None or message.parsed is None:
            raise InvalidOutputError(f"The model's answer was not a valid {task} (the answer was empty)")
        result = message.parsed.model_dump()
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
