"""One request shape per capability: what a caller may ask a provider for.

jobs_create validates every job's input against its capability's model
before anything is queued or spent, so bad input fails with a clear message
instead of reaching a paid API.
"""

import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

AspectRatio = Literal["16:9", "9:16", "1:1"]
# A seed is always recorded: drawn at random when the caller gives none, so unseeded
# variants differ and every asset can be made again.
Seed = Field(default_factory=lambda: secrets.randbelow(2**31), ge=0, le=2**31 - 1)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextRequest(_Request):
    """An LLM call with structured output; `task` names the schema (see generation.schemas)."""

    model_config = ConfigDict(extra="allow")
    task: Literal["questions", "brief", "script", "shots"]


class ImageRequest(_Request):
    prompt: str = Field(min_length=1, max_length=2000)
    num_outputs: int = Field(default=1, ge=1, le=4)
    aspect_ratio: AspectRatio = "16:9"
    seed: int = Seed
    variant: int = Field(default=0, ge=0, le=5)
    caption: str = Field(default="", max_length=300)


class RefineRequest(_Request):
    prompt: str = Field(min_length=1, max_length=2000)
    image: str = Field(min_length=1, description="storage name of the parent image")
    strength: float = Field(default=0.6, ge=0.05, le=0.95)
    seed: int = Seed
    aspect_ratio: AspectRatio = "16:9"
    variant: int = Field(default=0, ge=0, le=5)


class VideoRequest(_Request):
    image: str = Field(min_length=1, description="storage name of the still")
    prompt: str = Field(default="", max_length=2000)
    duration: Literal[5, 10] = 5
    resolution: Literal["480p", "720p", "1080p"] = "720p"
    aspect_ratio: AspectRatio = "16:9"
    seed: int = Seed


class SpeechRequest(_Request):
    text: str = Field(min_length=1, max_length=5000)
    # Blank: the model's first voice (each speech model has its own list in the registry).
    voice: str = Field(default="", max_length=60)


class MusicRequest(_Request):
    prompt: str = Field(default="", max_length=1000, description="a mood or a description")
    # Whole seconds: MusicGen's duration is an integer; a longer bed is made in parts.
    duration: int = Field(default=30, ge=1, le=600)
    seed: int = Seed


class LipsyncRequest(_Request):
    video: str = Field(min_length=1)
    audio: str = Field(min_length=1)
    # Not sent: the video's length, so the estimate prices the seconds the model bills.
    duration: float = Field(default=5, gt=0, le=600)


REQUESTS: dict[str, type[_Request]] = {
    "text": TextRequest,
    "image": ImageRequest,
    "refine": RefineRequest,
    "video": VideoRequest,
    "speech": SpeechRequest,
    "music": MusicRequest,
    "lipsync": LipsyncRequest,
}


class BadRequestError(ValueError):
    pass


def normalize(capability: str, params: dict) -> dict:
    """The validated input with defaults filled in; BadRequestError says what is wrong."""
    try:
        request = REQUESTS[capability].model_validate(params)
    except KeyError:
        raise BadRequestError(f"Unknown capability {capability!r}.") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'input'}: {error['msg']}" for error in exc.errors()
        )
        raise BadRequestError(f"Invalid {capability} request: {problems}") from None
    return request.model_dump()
