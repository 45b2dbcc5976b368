"""{% image_seed_note image %}: the seed note of the model that made an image (see storyboard.seeds)."""

from django import template

from projects.models import ShotImage
from storyboard.seeds import notes_by_model_id

register = template.Library()


@register.simple_tag
def image_seed_note(image: ShotImage) -> str:
    # A page sets the notes of all its images at once; a tile rendered alone (a live update) looks its own up.
    if (note := getattr(image, "seed_note", None)) is not None:
        return note
    model_id = (image.metadata or {}).get("provenance", {}).get("model", "")
    return notes_by_model_id([model_id]).get(model_id, "")
