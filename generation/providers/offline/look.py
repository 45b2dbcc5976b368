"""How an offline image looks: a palette from the mood words, a composition from the shot type."""

import re
from dataclasses import dataclass

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    name: str
    sky_top: Color
    sky_bottom: Color
    land: Color
    accent: Color
    light: Color


PALETTES: dict[str, Palette] = {
    "dawn": Palette("dawn", (58, 46, 110), (255, 170, 110), (60, 40, 70), (255, 120, 90), (255, 230, 170)),
    "day": Palette("day", (70, 140, 220), (190, 225, 250), (70, 120, 80), (240, 200, 60), (255, 255, 235)),
    "night": Palette("night", (8, 10, 35), (40, 30, 90), (15, 15, 30), (255, 60, 170), (120, 220, 255)),
    "noir": Palette("noir", (20, 20, 22), (90, 90, 95), (10, 10, 12), (200, 200, 200), (240, 240, 240)),
    "forest": Palette("forest", (40, 90, 70), (170, 210, 150), (25, 60, 35), (230, 190, 80), (240, 250, 210)),
    "ocean": Palette("ocean", (20, 70, 130), (120, 200, 230), (10, 60, 100), (255, 220, 120), (230, 250, 255)),
    "desert": Palette("desert", (120, 170, 220), (250, 210, 150), (200, 140, 80), (180, 80, 40), (255, 245, 220)),
    "winter": Palette("winter", (120, 150, 190), (225, 235, 245), (235, 240, 248), (90, 120, 170), (255, 255, 255)),
    "warm": Palette("warm", (150, 60, 50), (255, 190, 120), (110, 50, 40), (255, 220, 100), (255, 240, 200)),
    "calm": Palette("calm", (110, 150, 190), (220, 230, 240), (120, 150, 140), (250, 210, 170), (250, 250, 250)),
}

MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "dawn": ("dawn", "sunrise", "golden hour", "morning", "awaken", "daybreak"),
    "night": ("night", "neon", "midnight", "cyberpunk", "city lights", "stars"),
    "noir": ("noir", "black and white", "monochrome", "moody", "gritty", "rain"),
    "forest": ("forest", "jungle", "nature", "garden", "park", "mountain", "hike"),
    "ocean": ("ocean", "sea", "beach", "wave", "underwater", "surf", "harbor", "lake"),
    "desert": ("desert", "sand", "dune", "canyon", "safari"),
    "winter": ("snow", "winter", "ice", "frost", "arctic", "christmas"),
    "warm": ("sunset", "fire", "cozy", "autumn", "coffee", "warm", "dramatic"),
    "calm": ("calm", "minimal", "peaceful", "soft", "clean", "product", "studio"),
    "day": ("day", "sunny", "bright", "summer", "playful", "energetic"),
}

SHOT_WORDS: dict[str, tuple[str, ...]] = {
    "close": ("close-up", "close up", "closeup", "macro", "detail", "portrait", "face"),
    "aerial": ("aerial", "drone", "bird's-eye", "overhead", "top-down", "top down"),
    "low": ("low angle", "low-angle", "towering", "looking up", "hero shot"),
    "medium": ("medium", "mid shot", "waist", "over the shoulder", "two-shot"),
    "wide": ("wide", "establishing", "panorama", "landscape", "long shot", "skyline", "vista"),
}
CITY_WORDS = ("city", "street", "tokyo", "skyline", "downtown", "urban", "building", "tower", "neon", "new york")


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![a-z]){re.escape(w)}", text) for w in words)


def palette_for(text: str, fallback: int = 0) -> Palette:
    lowered = text.lower()
    for name, words in MOOD_WORDS.items():
        if _has(lowered, words):
            return PALETTES[name]
    names = sorted(PALETTES)
    return PALETTES[names[fallback % len(names)]]


def shot_type_for(text: str) -> str:
    lowered = text.lower()
    for name, words in SHOT_WORDS.items():
        if _has(lowered, words):
            return name
    return "wide"


def is_urban(text: str) -> bool:
    return _has(text.lower(), CITY_WORDS)


def mix(a: Color, b: Color, t: float) -> Color:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]
