"""The offline providers make real media: pictures, clips, speech, music and plans, all on this machine."""

import io
import shutil
import wave
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from generation import schemas
from generation.models import Job
from generation.providers.base import Completed, ProviderError
from generation.providers.offline import image, music, speech, text, video
from generation.providers.offline.provider import OfflineProvider

NIGHT = "Tokyo street at night, neon city lights"
DAY = "A sunny day in a meadow"
SENTENCE = "The city wakes slowly, and the first train crosses the river at dawn."

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")


def pixels(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("RGB"), dtype=np.int16)


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference, 0 (identical) to 255."""
    return float(np.abs(pixels(a) - pixels(b.resize(a.size))).mean())


def horizontal_shift(before: np.ndarray, after: np.ndarray, limit: int = 260) -> int:
    """How many pixels the content of a band moved sideways between two grey frames."""
    before, after = before[::4], after[::4]  # every fourth row is plenty, and quick
    best = (float("inf"), 0)
    width = before.shape[1]
    for s in range(-limit, limit + 1):
        if s >= 0:
            d = np.abs(before[:, s:] - after[:, : width - s]).mean()
        else:
            d = np.abs(before[:, :s] - after[:, -s:]).mean()
        best = min(best, (d, s))
    return best[1]


# Images


def test_it_draws_the_same_picture_for_the_same_prompt_seed_and_variant():
    first = image.draw(prompt=NIGHT, seed=7, variant=2)
    again = image.draw(prompt=NIGHT, seed=7, variant=2)
    assert np.array_equal(pixels(first), pixels(again))


def test_it_draws_a_different_picture_for_each_variant_and_seed():
    base = image.draw(prompt=NIGHT, seed=7, variant=0)
    assert difference(base, image.draw(prompt=NIGHT, seed=7, variant=1)) > 3
    assert difference(base, image.draw(prompt=NIGHT, seed=8, variant=0)) > 3


@pytest.mark.parametrize(
    ("aspect_ratio", "size"),
    [("16:9", (1024, 576)), ("9:16", (576, 1024)), ("1:1", (768, 768)), ("4:3", (1024, 576))],
)
def test_it_sizes_the_picture_by_aspect_ratio(aspect_ratio, size):
    assert image.draw(prompt=DAY, aspect_ratio=aspect_ratio).size == size


def test_it_follows_the_mood_words_for_the_palette():
    night = pixels(image.draw(prompt=NIGHT, seed=1)).mean()
    day = pixels(image.draw(prompt=DAY, seed=1)).mean()
    assert night < 70
    assert day > night + 40


def test_it_encodes_the_picture_as_a_lossless_png():
    picture = image.draw(prompt=NIGHT, aspect_ratio="9:16", seed=3)
    data = image.to_png(picture)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (576, 1024))
        assert np.array_equal(pixels(decoded), pixels(picture))


def test_it_refines_a_picture_that_visibly_derives_from_the_parent():
    parent = image.draw(prompt=NIGHT, seed=1)
    unrelated = image.draw(prompt="Desert canyon, close-up portrait", seed=9)
    refined = image.refine(parent=parent, prompt="Rain over the harbor", strength=0.6, seed=3)
    assert refined.size == parent.size
    assert difference(refined, parent) > 2  # something changed
    assert difference(refined, parent) * 3 < difference(refined, unrelated)


def test_it_moves_further_from_the_parent_at_higher_strength():
    parent = image.draw(prompt=NIGHT, seed=1)
    distances = [
        difference(image.refine(parent=parent, prompt="Rain over the harbor", strength=s, seed=3), parent)
        for s in (0.3, 0.6, 0.9)
    ]
    assert distances[0] < distances[1] < distances[2]


def test_it_keeps_the_parent_size_and_orientation_when_refining_a_portrait():
    parent = image.draw(prompt=DAY, aspect_ratio="9:16", seed=2)
    refined = image.refine(parent=parent, prompt="Snow on the meadow", strength=0.5)
    assert refined.size == (576, 1024)
    assert difference(refined, parent) < 40


# Video


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("still") / "still.png"
    path.write_bytes(image.to_png(image.draw(prompt=NIGHT, seed=1)))
    return path


@cache
def _clip(still: Path, prompt: str, seed: int, duration: int) -> bytes:
    return video.animate(
        image_path=still, duration=duration, aspect_ratio="16:9", resolution="480p", prompt=prompt, seed=seed
    )


def first_and_last_frames(clip: bytes) -> tuple[np.ndarray, np.ndarray]:
    with av.open(io.BytesIO(clip)) as container:
        frames = [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]
    return frames[0].astype(float), frames[-1].astype(float)


def test_it_animates_a_still_into_an_h264_mp4_with_audio(still):
    clip = _clip(still, "slow zoom in", 0, 5)
    with av.open(io.BytesIO(clip)) as container:
        assert "mp4" in container.format.name
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (854, 480)
        assert container.duration / av.time_base == pytest.approx(5, abs=0.2)
        assert [s.codec_context.name for s in container.streams.audio] == ["aac"]
        assert sum(1 for _ in container.decode(video=0)) == 5 * video.FPS


@pytest.mark.parametrize(("aspect_ratio", "size"), [("9:16", (480, 854)), ("1:1", (480, 480)), ("2:1", (1280, 720))])
def test_it_renders_the_requested_resolution_per_aspect_ratio(still, aspect_ratio, size):
    resolution = "720p" if aspect_ratio == "2:1" else "480p"
    clip = video.animate(
        image_path=still, duration=1, aspect_ratio=aspect_ratio, resolution=resolution, prompt="pan", seed=0
    )
    with av.open(io.BytesIO(clip)) as container:
        context = container.streams.video[0].codec_context
        assert (context.width, context.height) == size
        assert container.duration / av.time_base == pytest.approx(1, abs=0.2)


@pytest.mark.parametrize(
    ("prompt", "motion"),
    [
        ("Slow pan across the skyline", "pan"),
        ("Tracking shot down the street", "pan"),
        ("Parallax layers of the hills", "parallax"),
        ("Orbit the tower", "parallax"),
        ("Zoom in on the lantern", "zoom"),
        ("Push in on her face", "zoom"),
    ],
)
def test_it_picks_the_motion_from_the_prompt(prompt, motion):
    assert video.motion_for(prompt, seed=0) == motion


def test_it_picks_a_motion_by_seed_when_the_prompt_names_none():
    picked = {video.motion_for("The traveller looks out", seed) for seed in range(30)}
    assert picked == set(video.MOTIONS)
    assert video.motion_for("The traveller looks out", 4) == video.motion_for("The traveller looks out", 4)


def test_it_does_not_find_motion_words_inside_other_words():
    assert video.motion_for("Slow zoom in on Japanese temples", seed=0) == "zoom"
    assert video.motion_for("Zoom in on the company logo", seed=0) == "zoom"


def test_it_zooms_into_the_centre_of_the_still(still):
    first, last = first_and_last_frames(_clip(still, "slow zoom in", 0, 5))
    h, w = first.shape
    plain = np.abs(first - last).mean()
    assert plain > 3  # the frames really move
    # The last frame is the first one pushed in by about 1.18x around the centre.
    cw, ch = w / 1.18, h / 1.18
    box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
    pushed_in = np.asarray(Image.fromarray(first.astype(np.uint8)).crop(box).resize((w, h)), dtype=float)
    assert np.abs(pushed_in - last).mean() < plain / 2


@pytest.mark.parametrize("seed", [0, 1])
def test_it_pans_the_whole_frame_sideways(still, seed):
    first, last = first_and_last_frames(_clip(still, "pan across", seed, 5))
    h = first.shape[0]
    top, bottom = horizontal_shift(first[: h // 2], last[: h // 2]), horizontal_shift(first[h // 2 :], last[h // 2 :])
    # 1.25x canvas: 1066 - 854 = 212 px of travel, in either direction.
    assert abs(top) == pytest.approx(212, abs=4)
    assert bottom == pytest.approx(top, abs=4)


def test_it_slides_the_foreground_faster_than_the_background_for_parallax(still):
    first, last = first_and_last_frames(_clip(still, "parallax layers", 0, 5))
    h = first.shape[0]
    background = horizontal_shift(first[: h // 2], last[: h // 2])
    foreground = horizontal_shift(first[h // 2 :], last[h // 2 :])
    assert abs(background) == pytest.approx(212 / 6, abs=4)
    assert abs(foreground) == pytest.approx(212 / 2, abs=4)
    assert np.sign(background) == np.sign(foreground)


# Speech


def wav_duration(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio
        assert sum(frame.samples for frame in container.decode(audio=0)) > 0
        return container.duration / av.time_base


@needs_espeak
def test_it_speaks_a_sentence_as_wav():
    data = speech.speak(text=SENTENCE, voice="narrator")
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WAVE"
    assert wav_duration(data) > 0.5


@needs_espeak
def test_it_speaks_longer_text_for_longer():
    short = wav_duration(speech.speak(text="Hello.", voice="warm"))
    long = wav_duration(speech.speak(text=SENTENCE, voice="warm"))
    assert long > short * 2


@needs_espeak
def test_it_uses_a_different_voice_per_name_and_the_narrator_for_unknown_names():
    narrator = speech.speak(text=SENTENCE, voice="narrator")
    assert speech.speak(text=SENTENCE, voice="british") != narrator
    assert speech.speak(text=SENTENCE, voice="nobody") == narrator


@needs_espeak
@pytest.mark.parametrize("blank", ["", "   \n\t"])
def test_it_refuses_to_speak_empty_text(blank):
    with pytest.raises(ProviderError, match="no text"):
        speech.speak(text=blank, voice="narrator")


def test_it_says_espeak_ng_is_needed_when_it_is_missing(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(ProviderError, match="espeak-ng"):
        speech.speak(text=SENTENCE, voice="narrator")


# Music


def test_it_composes_stereo_48k_wav_of_the_requested_duration():
    data = music.compose(prompt="An upbeat summer montage", duration=3.5, seed=1)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 48000)
        assert wav.getnframes() / wav.getframerate() == pytest.approx(3.5, abs=0.05)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert wav_duration(data) == pytest.approx(3.5, abs=0.05)
    assert np.abs(samples).max() > 10000  # not silence
    assert not np.array_equal(samples[:, 0], samples[:, 1])  # really stereo
    assert np.abs(samples[:100]).max() < np.abs(samples).max() / 10  # fades in


@pytest.mark.parametrize(
    ("prompt", "mood"),
    [
        ("An energetic product launch", "upbeat"),
        ("An epic trailer", "dramatic"),
        ("A noir mystery in the rain", "mysterious"),
        ("A hopeful new beginning", "inspiring"),
        ("A wistful goodbye", "melancholic"),
        ("Peaceful ambient bed", "calm"),
        ("Something with no mood words", "calm"),
    ],
)
def test_it_maps_mood_words(prompt, mood):
    assert music.mood_for(prompt) == mood


def test_it_does_not_find_mood_words_inside_other_words():
    assert music.mood_for("A sad funeral march") == "melancholic"
    assert music.mood_for("An unhappy farewell") == "calm"


def test_it_composes_the_same_music_for_the_same_prompt_and_seed():
    first = music.compose(prompt="A calm morning", duration=2, seed=5)
    assert music.compose(prompt="A calm morning", duration=2, seed=5) == first
    assert music.compose(prompt="A calm morning", duration=2, seed=6) != first
    assert music.compose(prompt="An epic battle", duration=2, seed=5) != first


# Text


def test_it_asks_questions_that_validate():
    result = text.questions(prompt="A cinematic journey through Tokyo", brain_dump="lanterns, ramen, trains")
    questions = schemas.Questions.model_validate(result).questions
    assert len(questions) == 5
    noted = next(q for q in questions if "notes mention" in q.question)
    assert noted.suggested_answers == ["Lanterns", "Ramen", "Trains", "All of them"]


def test_it_writes_a_brief_that_validates_and_uses_the_answers():
    answers = [{"question": "What feeling should people leave with?", "answer": "Excitement"}]
    result = text.brief(prompt="A cinematic journey through Tokyo", answers=answers)
    brief = schemas.Brief.model_validate(result)
    assert brief.tone == "Excitement"
    assert brief.key_message.startswith("A cinematic journey through Tokyo")


@pytest.mark.parametrize(
    ("prompt", "place"),
    [
        ("A cinematic journey through Tokyo", "Tokyo"),
        ("Make a film about New York City at night", "New York"),
        ("a walk along the coast", "The location"),
    ],
)
def test_it_picks_up_the_place_from_the_prompt(prompt, place):
    assert text.brief(prompt=prompt)["places"][0]["name"] == place


def test_it_drafts_a_script_that_validates():
    brief = text.brief(prompt="A cinematic journey through Tokyo")
    result = text.script(prompt="A cinematic journey through Tokyo", brief=brief, target_duration=30)
    scenes = schemas.Script.model_validate(result).scenes
    assert scenes[0].title.startswith("Opening")
    assert scenes[-1].title.startswith("Closing")
    assert all("Tokyo" in shot.image_prompt for scene in scenes for shot in scene.shots)


@pytest.mark.parametrize(
    ("target", "count"), [(10, 2), (16, 2), (30, 4), (45, 6), (60, 8), (120, 15), (300, 20), (600, 20)]
)
def test_it_sizes_the_script_by_target_duration(target, count):
    scenes = schemas.Script.model_validate(text.script(prompt="Rivers of Europe", target_duration=target)).scenes
    assert len(scenes) == count
    assert sum(scene.duration for scene in scenes) == pytest.approx(target, rel=0.25)


def test_it_honours_an_explicit_scene_count():
    scenes = text.script(prompt="Rivers of Europe", target_duration=30, scene_count=3)["scenes"]
    assert len(scenes) == 3
    assert [s["duration"] for s in scenes] == [10, 10, 10]


def test_it_plans_shots_that_validate():
    scene = text.script(prompt="A cinematic journey through Tokyo", target_duration=30)["scenes"][1]
    result = text.shots(scene=scene, brief=text.brief(prompt="A cinematic journey through Tokyo"), count=4)
    shots = schemas.Shots.model_validate(result).shots
    assert len(shots) == 4
    assert len({shot.framing for shot in shots}) == 4


def test_it_plans_the_same_way_every_time():
    prompt, notes = "A cinematic journey through Tokyo", "neon, rain"
    assert text.questions(prompt=prompt, brain_dump=notes) == text.questions(prompt=prompt, brain_dump=notes)
    brief = text.brief(prompt=prompt, brain_dump=notes)
    assert brief == text.brief(prompt=prompt, brain_dump=notes)
    script = text.script(prompt=prompt, brief=brief, target_duration=45)
    assert script == text.script(prompt=prompt, brief=brief, target_duration=45)
    scene = script["scenes"][0]
    assert text.shots(scene=scene, brief=brief) == text.shots(scene=scene, brief=brief)


# The provider, through unsaved Job rows


def start(capability: str, **params) -> Completed:
    return OfflineProvider().start(Job(capability=capability, input=params))


def stored_png(name: str, picture: Image.Image) -> str:
    return default_storage.save(name, ContentFile(image.to_png(picture)))


def test_it_completes_an_image_job_with_png_files():
    result = start("image", prompt=NIGHT, aspect_ratio="1:1", seed=4, num_outputs=2)
    assert isinstance(result, Completed)
    assert result.data == {"seed": 4}
    assert [(f.kind, f.extension, f.url) for f in result.files] == [("image", "png", None)] * 2
    decoded = [Image.open(io.BytesIO(f.data)) for f in result.files]
    assert [(d.format, d.size) for d in decoded] == [("PNG", (768, 768))] * 2
    assert difference(decoded[0], decoded[1]) > 3  # two variants, not two copies
    assert np.array_equal(pixels(decoded[1]), pixels(image.draw(prompt=NIGHT, aspect_ratio="1:1", seed=4, variant=1)))


def test_it_completes_a_refine_job_from_a_stored_image():
    parent = image.draw(prompt=DAY, seed=2)
    name = stored_png("inputs/parent.png", parent)
    result = start("refine", image=name, prompt="Snow on the meadow", strength=0.4, seed=2)
    (output,) = result.files
    with Image.open(io.BytesIO(output.data)) as refined:
        assert (refined.format, refined.size) == ("PNG", parent.size)
        assert difference(refined, parent) * 3 < difference(refined, image.draw(prompt=NIGHT, seed=9))


def test_it_completes_a_video_job_from_a_stored_image():
    name = stored_png("inputs/still.png", image.draw(prompt=NIGHT, seed=1))
    result = start("video", image=name, duration=2, resolution="480p", aspect_ratio="9:16", prompt="pan left")
    assert result.data == {"seed": 0, "motion": "pan"}
    (output,) = result.files
    assert (output.kind, output.extension) == ("video", "mp4")
    with av.open(io.BytesIO(output.data)) as container:
        context = container.streams.video[0].codec_context
        assert (context.name, context.width, context.height) == ("h264", 480, 854)
        assert container.duration / av.time_base == pytest.approx(2, abs=0.2)


@needs_espeak
def test_it_completes_a_speech_job():
    (output,) = start("speech", text=SENTENCE, voice="bright").files
    assert (output.kind, output.extension) == ("audio", "wav")
    assert wav_duration(output.data) > 0.5


def test_it_completes_a_music_job_with_its_mood():
    result = start("music", prompt="An epic trailer", duration=2, seed=1)
    assert result.data == {"mood": "dramatic"}
    (output,) = result.files
    assert output.data == music.compose(prompt="An epic trailer", duration=2, seed=1)


@pytest.mark.parametrize("duration", [0.5, 601])
def test_it_refuses_music_outside_one_to_600_seconds(duration):
    with pytest.raises(ProviderError, match="1 to 600 seconds"):
        start("music", prompt="calm", duration=duration)


def test_it_completes_a_text_job_that_validates():
    result = start("text", task="script", prompt="A cinematic journey through Tokyo", target_duration=16)
    assert result.files == []
    script = schemas.Script.model_validate(result.data["result"])
    assert len(script.scenes) == 2


def test_it_refuses_an_unknown_text_task():
    with pytest.raises(ProviderError, match="Unknown text task 'poem'"):
        start("text", task="poem", prompt="Roses")


def test_it_says_lipsync_is_not_available_offline():
    with pytest.raises(ProviderError, match="not available offline"):
        start("lipsync", video="inputs/x.mp4", audio="inputs/x.wav")


def test_it_refuses_a_capability_it_does_not_know():
    with pytest.raises(ProviderError, match="cannot do teleport"):
        start("teleport")


def test_it_has_nothing_to_poll():
    provider = OfflineProvider()
    job = Job(capability="image", input={"prompt": DAY})
    with pytest.raises(ProviderError, match="nothing to poll"):
        provider.poll(job)
    assert provider.find_submitted(job) is None
