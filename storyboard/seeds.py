"""What a repeat with the same seed gives, told plainly: only some models repeat exactly.

The registry says, per model, whether a seed is taken and honoured (generation.registry.seed_behaviour):
"exact" (offline models, FLUX dev), "approximate" (a seed is taken but a repeat differs a little: Wan 2.5,
FLUX schnell in its fast mode) or "none" (no seed at all: Kling, MiniMax, lipsync). Pages that show a seed
or offer to keep one say so for the last two.
"""

from collections.abc import Iterable

from generation import registry
from generation.models import AIModel

WHAT = {"video": "clip", "lipsync": "clip", "image": "picture", "refine": "picture", "speech": "reading"}


def seed_note(model: AIModel | None) -> str:
    """One sentence for a model whose repeat is not exact; blank for one that repeats exactly."""
    if model is None:
        return ""
    what = WHAT.get(model.capability, "result")
    behaviour = registry.seed_behaviour(model)
    if behaviour == "none":
        return f"{model.label} takes no seed: a repeat gives a different {what}."
    if behaviour == "approximate":
        fast = " (fast mode)" if ((model.input_mapping or {}).get("fixed") or {}).get("go_fast") else ""
        return f"{model.label}{fast} is close but not exact with the same seed: a repeat gives a similar {what}."
    return ""


def seed_notes(models: Iterable[AIModel]) -> list[str]:
    return [note for note in map(seed_note, models) if note]


def notes_by_model_id(model_ids: Iterable[str]) -> dict[str, str]:
    """The note per registry model id (what an image's provenance records), for those that need one."""
    ids = {i for i in model_ids if i}
    found = AIModel.objects.filter(model_id__in=ids) if ids else AIModel.objects.none()
    return {model.model_id: note for model in found if (note := seed_note(model))}


def segment_seed_note(params: dict) -> str:
    """The note for the model that made a segment version (its generation params record the registry row)."""
    pk = params.get("model_pk")
    return seed_note(AIModel.objects.filter(pk=pk).first()) if pk else ""
