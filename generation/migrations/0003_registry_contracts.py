"""Registry facts for the provider contracts, merged into the rows operators may have edited.

Frozen here (not read from generation/defaults.py) so this migration does the same thing whenever it runs.
Only what this change adds is written: new capability keys where a row lacks them, the voice lists and
prices still at their old defaults, MusicGen's version; labels, prices an operator set and the default
model of each capability are left as they are.
"""

from decimal import Decimal

from django.db import migrations

MUSICGEN = "meta/musicgen"
MUSICGEN_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
NEW_CAPABILITIES = {
    "offline|offline/espeak-ng": {
        "seed": "exact",
        "voices": [
            ["narrator", "Narrator (calm, male)"],
            ["warm", "Warm (female)"],
            ["bright", "Bright (British, female)"],
            ["deep", "Deep (male)"],
            ["british", "British (male)"],
        ],
    },
    "offline|offline/ffmpeg-motion": {"durations": [5, 10], "resolutions": ["480p", "720p", "1080p"], "seed": "exact"},
    "offline|offline/lipsync": {"available": False},
    "offline|offline/numpy-music": {"max_duration": 600, "seed": "exact"},
    "offline|offline/pillow-image": {"max_outputs": 4, "seed": "exact"},
    "offline|offline/pillow-refine": {"seed": "exact"},
    "offline|offline/planner": {"seed": "exact", "tasks": ["questions", "brief", "script", "shots"]},
    "openai|gpt-4o-mini": {"structured_outputs": True},
    "replicate|black-forest-labs/flux-dev": {"seed": "exact", "strength": [0.05, 0.95]},
    "replicate|black-forest-labs/flux-schnell": {
        "aspect_ratios": ["16:9", "9:16", "1:1"],
        "max_outputs": 4,
        "seed": "approximate",
    },
    "replicate|kwaivgi/kling-v2.1": {"durations": [5, 10], "resolutions": ["720p"], "seed": "none"},
    "replicate|meta/musicgen:671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb": {
        "max_duration": 30,
        "seed": "exact",
    },
    "replicate|minimax/speech-02-turbo": {
        "seed": "none",
        "voices": [
            ["Wise_Woman", "Wise woman"],
            ["Friendly_Person", "Friendly person"],
            ["Inspirational_girl", "Inspirational girl"],
            ["Deep_Voice_Man", "Deep-voiced man"],
            ["Calm_Woman", "Calm woman"],
            ["Casual_Guy", "Casual guy"],
            ["Lively_Girl", "Lively girl"],
            ["Patient_Man", "Patient man"],
            ["Young_Knight", "Young knight"],
            ["Determined_Man", "Determined man"],
            ["Lovely_Girl", "Lovely girl"],
            ["Decent_Boy", "Decent boy"],
            ["Imposing_Manner", "Imposing manner"],
            ["Elegant_Man", "Elegant man"],
            ["Abbess", "Abbess"],
            ["Sweet_Girl_2", "Sweet girl"],
            ["Exuberant_Girl", "Exuberant girl"],
        ],
    },
    "replicate|sync/lipsync-2": {"seed": "none"},
    "replicate|wan-video/wan-2.5-i2v": {
        "durations": [5, 10],
        "has_audio": True,
        "prices": {"by": "resolution", "values": {"1080p": "0.15", "480p": "0.05", "720p": "0.10"}},
        "resolutions": ["480p", "720p", "1080p"],
        "seed": "approximate",
    },
}
OLD_VOICES = {
    "offline|offline/espeak-ng": ["narrator", "warm", "bright", "deep", "british"],
    "replicate|minimax/speech-02-turbo": ["Wise_Woman", "Deep_Voice_Man", "Calm_Woman", "Casual_Guy"],
}
# Wan 2.5 was priced flat at $0.068 a second; it is published per resolution.
OLD_PRICES = {"replicate|wan-video/wan-2.5-i2v": (Decimal("0.068"), Decimal("0.10"))}


def forwards(apps, schema_editor):
    AIModel = apps.get_model("generation", "AIModel")
    versioned = f"{MUSICGEN}:{MUSICGEN_VERSION}"
    if not AIModel.objects.filter(provider="replicate", model_id=versioned).exists():
        # A community model runs by version only.
        AIModel.objects.filter(provider="replicate", model_id=MUSICGEN).update(model_id=versioned)
    for key, new in NEW_CAPABILITIES.items():
        provider, model_id = key.split("|", 1)
        row = AIModel.objects.filter(provider=provider, model_id=model_id).first()
        if row is None:
            continue
        caps = dict(row.capabilities or {})
        if key in OLD_VOICES and caps.get("voices") == OLD_VOICES[key]:
            caps.pop("voices")
        row.capabilities = {**new, **caps}
        if key in OLD_PRICES and row.unit_price == OLD_PRICES[key][0]:
            row.unit_price = OLD_PRICES[key][1]
        if model_id == "black-forest-labs/flux-dev" and row.input_mapping.get("fixed") == {"output_format": "png"}:
            # img2img runs at full precision: the same seed repeats the picture.
            row.input_mapping = {**row.input_mapping, "fixed": {"output_format": "png", "go_fast": False}}
        row.save(update_fields=["capabilities", "unit_price", "input_mapping"])


class Migration(migrations.Migration):
    dependencies = [("generation", "0002_seed_registry")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
