"""Seeds told honestly: where a model takes no seed or does not repeat exactly, pages that show one say so."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from generation.models import AIModel
from projects.models import ShotImage
from storyboard.models import ApprovalStatus
from storyboard.seeds import seed_note
from tests.factories import make_segment
from tests.storyboard.conftest import with_masters

pytestmark = pytest.mark.django_db

KLING = "Kling 2.1 image-to-video takes no seed: a repeat gives a different clip."
WAN = "Wan 2.5 image-to-video is close but not exact with the same seed"
SCHNELL = "FLUX.1 [schnell] (fast mode) is close but not exact with the same seed: a repeat gives a similar picture."
NOT_EXACT = ("takes no seed", "not exact with the same seed")


def _html(response) -> str:
    return response.content.decode()


def test_it_has_a_note_only_for_models_that_do_not_repeat_exactly():
    notes = {m.model_id: seed_note(m) for m in AIModel.objects.all()}
    assert notes["kwaivgi/kling-v2.1"] == KLING
    assert notes["wan-video/wan-2.5-i2v"].startswith(WAN)
    assert notes["black-forest-labs/flux-schnell"] == SCHNELL
    assert notes["minimax/speech-02-turbo"].startswith("MiniMax Speech-02 Turbo takes no seed")
    assert notes["black-forest-labs/flux-dev"] == ""
    assert all(note == "" for model_id, note in notes.items() if model_id.startswith("offline/"))


def _segment_made_by(project, model_id: str):
    (shot,) = with_masters(project, shots=1)
    model = AIModel.objects.get(model_id=model_id)
    segment = make_segment(shot, approval_status=ApprovalStatus.APPROVED, is_current=True, duration=2.0)
    segment.generation_params = {
        **segment.generation_params,
        "model": model.model_id,
        "model_pk": model.pk,
        "model_label": model.label,
        "seed": 1234,
    }
    segment.save()
    return segment


def test_review_says_a_kling_repeat_is_a_different_clip(owner_client, project):
    segment = _segment_made_by(project, "kwaivgi/kling-v2.1")
    html = _html(owner_client.get(segment.get_review_url()))
    assert KLING in html


def test_review_says_nothing_about_seeds_for_an_offline_version(owner_client, project):
    segment = _segment_made_by(project, "offline/ffmpeg-motion")
    html = _html(owner_client.get(segment.get_review_url()))
    assert "Regenerate with changes" in html and "1234" in html
    assert not any(words in html for words in NOT_EXACT)


def test_the_seed_fields_name_the_offered_models_that_do_not_repeat_exactly(owner_client, project, settings):
    settings.REPLICATE_API_TOKEN = "r8-test"
    segment = _segment_made_by(project, "offline/ffmpeg-motion")
    review = _html(owner_client.get(segment.get_review_url()))
    board = _html(owner_client.get(reverse("project_storyboard", args=[project.pk])))
    for html in (review, board):
        assert KLING in html and WAN in html


def test_the_seed_fields_say_nothing_when_only_offline_models_are_offered(owner_client, project):
    _segment_made_by(project, "offline/ffmpeg-motion")
    board = _html(owner_client.get(reverse("project_storyboard", args=[project.pk])))
    assert "Blank: a new random seed each time" in board
    assert not any(words in board for words in NOT_EXACT)


def _image_made_by(shot, model_id: str) -> ShotImage:
    image = shot.images.order_by("variant_number").first()
    image.metadata = {"provenance": {"provider": "replicate", "model": model_id, "seed": 77}}
    image.save()
    return image


def test_iterate_says_a_schnell_seed_is_close_but_not_exact(owner_client, project):
    (shot,) = with_masters(project, shots=1)
    image = _image_made_by(shot, "black-forest-labs/flux-schnell")
    html = _html(owner_client.get(reverse("iterate_shot", args=[project.pk, shot.pk])))
    assert SCHNELL in html
    # A tile rendered alone (a live update when the image finishes) says it too.
    tile = render_to_string("projects/iterate.html#tile", {"project": project, "image": image, "shot": shot})
    assert SCHNELL in tile


def test_iterate_says_nothing_about_an_offline_seed(owner_client, project):
    (shot,) = with_masters(project, shots=1)
    _image_made_by(shot, "offline/pillow-image")
    html = _html(owner_client.get(reverse("iterate_shot", args=[project.pk, shot.pk])))
    assert ">77<" in html and not any(words in html for words in NOT_EXACT)
