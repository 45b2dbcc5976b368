"""The default model registry, loaded by a migration and by `manage.py seed_registry`.

Prices are the providers' public list prices when this was written; operators
keep them current in the admin.
"""

from decimal import Decimal

MUSICGEN_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
# MiniMax's system voices (a cloned voice's id works too, once an operator adds it here).
MINIMAX_VOICES = [
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
]
ESPEAK_VOICES = [
    ["narrator", "Narrator (calm, male)"],
    ["warm", "Warm (female)"],
    ["bright", "Bright (British, female)"],
    ["deep", "Deep (male)"],
    ["british", "British (male)"],
]

# Capabilities the app reads:
#   seed: "exact" (same seed, same output), "approximate" (a seed is taken but a repeat differs),
#         "none" (no seed input; every run differs);
#   has_audio: a video model that puts its own soundtrack on the clip;
#   voices: [id, label] pairs a speech model accepts; max_duration: the longest one call makes;
#   prices: {"by": input name, "values": {value: unit price}}, a published price that depends on an input.
MODELS = [
    # capability, provider, model_id, label, price unit, unit price, input mapping, capabilities
    (
        "text",
        "offline",
        "offline/planner",
        "Offline planner",
        "run",
        "0",
        {},
        {"tasks": ["questions", "brief", "script", "shots"], "seed": "exact"},
    ),
    ("text", "openai", "gpt-4o-mini", "GPT-4o mini", "1k_tokens", "0.0006", {}, {"structured_outputs": True}),
    (
        "image",
        "offline",
        "offline/pillow-image",
        "Offline drawing (Pillow)",
        "image",
        "0",
        {},
        {"max_outputs": 4, "seed": "exact"},
    ),
    (
        "image",
        "replicate",
        "black-forest-labs/flux-schnell",
        "FLUX.1 [schnell]",
        "image",
        "0.003",
        {
            "prompt": "prompt",
            "aspect_ratio": "aspect_ratio",
            "seed": "seed",
            "num_outputs": "num_outputs",
            "fixed": {"output_format": "png", "go_fast": True},
        },
        # go_fast runs a quantized model: the same seed gives a close picture, not the same one.
        {"max_outputs": 4, "aspect_ratios": ["16:9", "9:16", "1:1"], "seed": "approximate"},
    ),
    ("refine", "offline", "offline/pillow-refine", "Offline refinement (Pillow)", "image", "0", {}, {"seed": "exact"}),
    (
        "refine",
        "replicate",
        "black-forest-labs/flux-dev",
        "FLUX.1 [dev] img2img",
        "image",
        "0.025",
        {
            "prompt": "prompt",
            "image": "image",
            "strength": "prompt_strength",
            "seed": "seed",
            "aspect_ratio": "aspect_ratio",
            "fixed": {"output_format": "png", "go_fast": False},
        },
        {"strength": [0.05, 0.95], "seed": "exact"},
    ),
    (
        "video",
        "offline",
        "offline/ffmpeg-motion",
        "Offline motion (ffmpeg)",
        "second",
        "0",
        {},
        {"durations": [5, 10], "resolutions": ["480p", "720p", "1080p"], "seed": "exact"},
    ),
    (
        "video",
        "replicate",
        "wan-video/wan-2.5-i2v",
        "Wan 2.5 image-to-video",
        "second",
        "0.10",
        {"image": "image", "prompt": "prompt", "duration": "duration", "resolution": "resolution", "seed": "seed"},
        {
            "durations": [5, 10],
            "resolutions": ["480p", "720p", "1080p"],
            "seed": "approximate",
            "has_audio": True,
            "prices": {"by": "resolution", "values": {"480p": "0.05", "720p": "0.10", "1080p": "0.15"}},
        },
    ),
    (
        "video",
        "replicate",
        "kwaivgi/kling-v2.1",
        "Kling 2.1 image-to-video",
        "second",
        "0.05",
        {"image": "start_image", "prompt": "prompt", "duration": "duration", "fixed": {"mode": "standard"}},
        {"durations": [5, 10], "resolutions": ["720p"], "seed": "none"},
    ),
    (
        "speech",
        "offline",
        "offline/espeak-ng",
        "Offline speech (espeak-ng)",
        "1k_chars",
        "0",
        {},
        {"voices": ESPEAK_VOICES, "seed": "exact"},
    ),
    (
        "speech",
        "replicate",
        "minimax/speech-02-turbo",
        "MiniMax Speech-02 Turbo",
        "1k_chars",
        "0.06",
        {"text": "text", "voice": "voice_id", "fixed": {"audio_format": "mp3"}},
        {"voices": MINIMAX_VOICES, "seed": "none"},
    ),
    (
        "music",
        "offline",
        "offline/numpy-music",
        "Offline music (numpy)",
        "second",
        "0",
        {},
        {"max_duration": 600, "seed": "exact"},
    ),
    (
        "music",
        "replicate",
        f"meta/musicgen:{MUSICGEN_VERSION}",
        "MusicGen",
        "second",
        "0.002",
        {
            "prompt": "prompt",
            "duration": "duration",
            "seed": "seed",
            "fixed": {"model_version": "stereo-large", "output_format": "wav", "normalization_strategy": "loudness"},
        },
        {"max_duration": 30, "seed": "exact"},
    ),
    ("lipsync", "offline", "offline/lipsync", "Lipsync (not available offline)", "run", "0", {}, {"available": False}),
    (
        "lipsync",
        "replicate",
        "sync/lipsync-2",
        "Sync Lipsync 2",
        "second",
        "0.05",
        {"video": "video", "audio": "audio", "fixed": {"sync_mode": "loop"}},
        {"seed": "none"},
    ),
]
DEFAULTS = {("video", "replicate"): "wan-video/wan-2.5-i2v"}


def seed(AIModel: type) -> int:  # noqa: N803 - a model class, historical or current
    created = 0
    # Community models are run by version: an unversioned row of one becomes the versioned one.
    for _capability, provider, model_id, *_ in MODELS:
        name, _, version = model_id.partition(":")
        if version and not AIModel.objects.filter(provider=provider, model_id=model_id).exists():
            AIModel.objects.filter(provider=provider, model_id=name).update(model_id=model_id)
    for capability, provider, model_id, label, unit, price, mapping, caps in MODELS:
        default = DEFAULTS.get((capability, provider), model_id) == model_id
        if default:
            # Resetting the defaults: another row an operator made the default gives way first.
            others = AIModel.objects.filter(capability=capability, provider=provider, is_default=True)
            others.exclude(model_id=model_id).update(is_default=False)
        _, made = AIModel.objects.update_or_create(
            provider=provider,
            model_id=model_id,
            defaults={
                "capability": capability,
                "label": label,
                "price_unit": unit,
                "unit_price": Decimal(price),
                "input_mapping": mapping,
                "capabilities": caps,
                "is_default": default,
            },
        )
        created += made
    return created
