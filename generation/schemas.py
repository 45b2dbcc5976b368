"""Structured outputs of the text provider, as pydantic models.

The same models give OpenAI its JSON schema (strict structured outputs, built by
the openai library's own `to_strict_json_schema` through
`client.chat.completions.parse`) and validate whatever any provider returns, so
a malformed answer is caught at the boundary instead of inside a page.

Strict mode accepts minItems/maxItems and minimum/maximum, so list and number
limits stay in the schema and the model cannot overshoot them. OpenAI's
documented strict subset has no minLength/maxLength
(generation/contracts/openai/structured_outputs.json), so string fields go
through `_text`: pydantic still enforces the length, but the schema carries the
limit in words (a description) instead of a keyword the API may refuse.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _lengths_as_words(schema: dict[str, Any]) -> None:
    # Called by pydantic on the field's JSON schema: move the length keywords into the description.
    low, high = schema.pop("minLength", None), schema.pop("maxLength", None)
    if low and high:
        schema["description"] = f"{low} to {high} characters."
    elif high:
        schema["description"] = f"At most {high} characters."
    elif low:
        schema["description"] = f"At least {low} characters."


def _text(*, max_length: int, min_length: int | None = None) -> Any:
    """A string field whose length pydantic enforces and whose schema has no length keywords."""
    return Field(min_length=min_length, max_length=max_length, json_schema_extra=_lengths_as_words)


class Question(_Strict):
    question: str = _text(min_length=3, max_length=300)
    suggested_answers: list[str] = Field(min_length=2, max_length=5)


class Questions(_Strict):
    questions: list[Question] = Field(min_length=3, max_length=5)


class NamedThing(_Strict):
    name: str = _text(min_length=1, max_length=80)
    description: str = _text(min_length=1, max_length=400)


class Brief(_Strict):
    tone: str = _text(max_length=200)
    audience: str = _text(max_length=200)
    style: str = _text(max_length=200)
    pacing: str = _text(max_length=200)
    key_message: str = _text(max_length=400)
    characters: list[NamedThing] = Field(max_length=8)
    places: list[NamedThing] = Field(max_length=8)


class Shot(_Strict):
    description: str = _text(min_length=3, max_length=600)
    framing: str = _text(max_length=120)
    image_prompt: str = _text(min_length=3, max_length=1500)


class Scene(_Strict):
    title: str = _text(min_length=1, max_length=200)
    description: str = _text(max_length=1500)
    narration: str = _text(max_length=1500)
    duration: int = Field(ge=2, le=60)
    shots: list[Shot] = Field(min_length=1, max_length=8)


class Script(_Strict):
    scenes: list[Scene] = Field(min_length=1, max_length=20)


class Shots(_Strict):
    shots: list[Shot] = Field(min_length=1, max_length=8)


TASKS: dict[str, type[BaseModel]] = {"questions": Questions, "brief": Brief, "script": Script, "shots": Shots}
