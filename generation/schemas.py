"""Structured outputs of the text provider, as pydantic models.

The same models give OpenAI its JSON schema (strict structured outputs) and
validate whatever any provider returns, so a malformed answer is caught at
the boundary instead of inside a page.
"""

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Question(_Strict):
    question: str = Field(min_length=3, max_length=300)
    suggested_answers: list[str] = Field(min_length=2, max_length=5)


class Questions(_Strict):
    questions: list[Question] = Field(min_length=3, max_length=5)


class NamedThing(_Strict):
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=400)


class Brief(_Strict):
    tone: str = Field(max_length=200)
    audience: str = Field(max_length=200)
    style: str = Field(max_length=200)
    pacing: str = Field(max_length=200)
    key_message: str = Field(max_length=400)
    characters: list[NamedThing] = Field(max_length=8)
    places: list[NamedThing] = Field(max_length=8)


class Shot(_Strict):
    description: str = Field(min_length=3, max_length=600)
    framing: str = Field(max_length=120)
    image_prompt: str = Field(min_length=3, max_length=1500)


class Scene(_Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=1500)
    narration: str = Field(max_length=1500)
    duration: int = Field(ge=2, le=60)
    shots: list[Shot] = Field(min_length=1, max_length=8)


class Script(_Strict):
    scenes: list[Scene] = Field(min_length=1, max_length=20)


class Shots(_Strict):
    shots: list[Shot] = Field(min_length=1, max_length=8)


TASKS: dict[str, type[BaseModel]] = {"questions": Questions, "brief": Brief, "script": Script, "shots": Shots}


def json_schema(task: str) -> dict:
    """The strict JSON schema OpenAI structured outputs accept (no length keywords it ignores anyway)."""
    return _strip(TASKS[task].model_json_schema())


_UNSUPPORTED = {"minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum", "title", "default"}


def _strip(node: object) -> object:
    if isinstance(node, dict):
        cleaned = {k: _strip(v) for k, v in node.items() if k not in _UNSUPPORTED}
        if cleaned.get("type") == "object" and "properties" in cleaned:
            cleaned["required"] = list(cleaned["properties"])
            cleaned["additionalProperties"] = False
        return cleaned
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node
