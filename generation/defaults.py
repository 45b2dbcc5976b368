"""The default model registry, loaded by a migration and by `manage.py seed_registry`.

Prices are the providers' public list prices when this was written; operators
keep them current in the admin.
"""

from decimal import Decimal

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
        {"tasks": ["questions", "brief", "script", "shots"]},
    ),
    ("text", "openai", "gpt-4o-mini", "GPT-4o mini", "1k_tokens", "0.0006", {}, {"structured_outputs": True}),
    ("image", "offline", "offline/pillow-image", "Offline drawing (Pillow)", "image", "0", {}, {"max_outputs": 4}),
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
        {"max_outputs": 4, "aspect_ratios": ["16:9", "9:16", "1:1"]},
    ),
    ("refine", "offline", "offline/pillow-refine", "Offline refinement (Pillow)", "image", "0", {}, {}),
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
            "fixed": {"output_format": "png"},
        },
        {"strength": [0.05, 0.95]},
    ),
    (
        "video",
        "offline",
        "offline/ffmpeg-motion",
        "Offline motion (ffmpeg)",
        "second",
        "0",
        {},
        {"durations": [5, 10], "resolutions": ["480p", "720p", "1080p"]},
    ),
    (
        "video",
        "replicate",
        "wan-video/wan-2.5-i2v",
        "Wan 2.5 image-to-video",
        "second",
        "0.068",
        {"image": "image", "prompt": "prompt", "duration": "duration", "resolution": "resolution", "seed": "seed"},
        {"durations": [5, 10], "resolutions": ["480p", "720p", "1080p"]},
    ),
    (
        "video",
        "replicate",
        "kwaivgi/kling-v2.1",
        "Kling 2.1 image-to-video",
        "second",
        "0.05",
        {"image": "start_image", "prompt": "prompt", "duration": "duration", "fixed": {"mode": "standard"}},
        {"durations": [5, 10]},
    ),
    (
        "speech",
        "offline",
        "offline/espeak-ng",
        "Offline speech (espeak-ng)",
        "1k_chars",
        "0",
        {},
        {"voices": ["narrator", "warm", "bright", "deep", "british"]},
    ),
    (
        "speech",
        "replicate",
        "minimax/speech-02-turbo",
        "MiniMax Speech-02 Turbo",
        "1k_chars",
        "0.06",
        {"text": "text", "voice": "voice_id", "fixed": {"audio_format": "mp3"}},
        {"voices": ["Wise_Woman", "Deep_Voice_Man", "Calm_Woman", "Casual_Guy"]},
    ),
    ("music", "offline", "offline/numpy-music", "Offline music (numpy)", "second", "0", {}, {"max_duration": 600}),
    (
        "music",
        "replicate",
        "meta/musicgen",
        "MusicGen",
        "second",
        "0.002",
        {
            "prompt": "prompt",
            "duration": "duration",
            "seed": "seed",
            "fixed": {"model_version": "stereo-large", "output_format": "wav", "normalization_strategy": "loudness"},
        },
        {"max_duration": 30},
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
        {},
    ),
]
DEFAULTS = {("video", "replicate"): "wan-video/wan-2.5-i2v"}


def seed(AIModel: type) -> int:  # noqa: N803 - a model class, historical or current
    created = 0
    for capability, provider, model_id, label, unit, price, mapping, caps in MODELS:
        default = DEFAULTS.get((capability, provider), model_id) == model_id
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
