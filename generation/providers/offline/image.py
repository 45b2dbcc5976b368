"""Offline text-to-image and img2img with Pillow.

Pictures are drawn, not fetched: the palette follows the prompt's mood words,
the composition follows the shot type (wide, close, aerial, low, medium), and
the caption carries the prompt. The same seed gives the same picture; every
variant of an iteration is different. A refinement starts from the parent's
pixels and blends in a new drawing by the given strength, so it visibly
derives from the parent.
"""

import hashlib
import io
import random
import textwrap

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from generation.providers.offline.look import Palette, is_urban, mix, palette_for, shot_type_for

SIZES = {"16:9": (1024, 576), "9:16": (576, 1024), "1:1": (768, 768)}


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _rng(prompt: str, seed: int, variant: int) -> random.Random:
    digest = hashlib.sha256(f"{prompt}|{seed}|{variant}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _sky(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    w, h = size
    top = mix(palette.sky_top, (rng.randrange(256), rng.randrange(256), rng.randrange(256)), 0.12)
    gradient = Image.linear_gradient("L").resize((w, h))
    return Image.composite(Image.new("RGB", size, palette.sky_bottom), Image.new("RGB", size, top), gradient)


def _land(  # noqa: PLR0917
    draw: ImageDraw.ImageDraw, size: tuple[int, int], palette: Palette, rng: random.Random, horizon: float, urban: bool
) -> None:
    w, h = size
    base = int(h * horizon)
    for layer in range(3):
        color = mix(palette.land, palette.sky_bottom, 0.55 - layer * 0.25)
        y0 = base + layer * h // 18
        if urban:
            x = -rng.randrange(40)
            while x < w:
                bw = rng.randrange(w // 22, w // 9)
                bh = rng.randrange(h // 12, int(h * (0.45 - layer * 0.1)))
                draw.rectangle([x, y0 - bh, x + bw, h], fill=color)
                if layer == 2:
                    for wy in range(y0 - bh + 8, y0 - 6, 14):
                        for wx in range(x + 5, x + bw - 6, 10):
                            if rng.random() < 0.35:
                                draw.rectangle([wx, wy, wx + 3, wy + 5], fill=palette.light)
                x += bw + rng.randrange(2, 10)
        else:
            points = [(0, h)]
            for i in range(13):
                points.append((i * w / 12, y0 - rng.randrange(h // 20, h // 5)))
            points.append((w, h))
            draw.polygon(points, fill=color)


def _subject(draw: ImageDraw.ImageDraw, size: tuple[int, int], palette: Palette, rng: random.Random, shot: str) -> None:
    w, h = size
    cx = w * rng.uniform(0.3, 0.7)
    if shot == "close":
        r = min(w, h) * rng.uniform(0.28, 0.36)
        cy = h * 0.55
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=palette.accent)
        draw.ellipse(
            [cx - r * 0.55, cy - r * 0.75, cx + r * 0.25, cy - r * 0.05], fill=mix(palette.accent, palette.light, 0.6)
        )
    elif shot == "low":
        bw = w * rng.uniform(0.1, 0.18)
        draw.polygon(
            [(cx - bw, h), (cx - bw * 0.4, h * 0.08), (cx + bw * 0.4, h * 0.08), (cx + bw, h)], fill=palette.accent
        )
    elif shot == "aerial":
        step = max(w, h) // rng.randrange(6, 10)
        for x in range(0, w, step):
            draw.line([(x, 0), (x + h // 3, h)], fill=mix(palette.land, palette.light, 0.35), width=4)
        for y in range(0, h, step):
            draw.line([(0, y), (w, y - w // 5)], fill=mix(palette.land, palette.light, 0.25), width=3)
        draw.rectangle([cx - 20, h * 0.45, cx + 20, h * 0.45 + 40], fill=palette.accent)
    elif shot == "medium":
        r = min(w, h) * 0.12
        cy = h * 0.5
        draw.ellipse([cx - r * 0.6, cy - r * 2.1, cx + r * 0.6, cy - r * 0.9], fill=palette.accent)
        draw.rounded_rectangle([cx - r, cy - r * 0.8, cx + r, h], radius=int(r * 0.5), fill=palette.accent)
    else:  # wide: a small figure against the horizon
        r = min(w, h) * 0.025
        cy = h * 0.7
        draw.ellipse([cx - r, cy - r * 5, cx + r, cy - r * 3], fill=palette.accent)
        draw.rectangle([cx - r * 0.8, cy - r * 3, cx + r * 0.8, cy], fill=palette.accent)


def _light(size: tuple[int, int], palette: Palette, rng: random.Random) -> Image.Image:
    w, h = size
    glow = Image.new("RGB", size, (0, 0, 0))
    draw = ImageDraw.Draw(glow)
    x, y, r = w * rng.uniform(0.15, 0.85), h * rng.uniform(0.12, 0.35), min(w, h) * rng.uniform(0.05, 0.09)
    for i in range(8, 0, -1):
        rr = r * (1 + i * 0.45)
        draw.ellipse([x - rr, y - rr, x + rr, y + rr], fill=mix((0, 0, 0), palette.light, 0.5 / i))
    draw.ellipse([x - r, y - r, x + r, y + r], fill=palette.light)
    return glow.filter(ImageFilter.GaussianBlur(radius=r / 3))


def _caption(image: Image.Image, text: str, label: str, *, opaque: bool = False) -> None:
    w, h = image.size
    draw = ImageDraw.Draw(image, "RGBA")
    size = max(16, max(w, h) // 44)
    lines = textwrap.wrap(text, width=max(20, int(w / (size * 0.62))))[:2]
    bar = size * (len(lines) + 1) + 16
    draw.rectangle([0, h - bar, w, h], fill=(0, 0, 0, 235 if opaque else 140))
    font = _font(size)
    for i, line in enumerate(lines):
        draw.text((14, h - bar + 8 + i * (size + 4)), line, font=font, fill=(255, 255, 255, 235))
    draw.text((14, h - size - 6), label, font=_font(max(10, size * 2 // 3)), fill=(255, 255, 255, 170))


def _grain(image: Image.Image, rng: random.Random) -> Image.Image:
    # Seeded noise (not Image.effect_noise, which ignores the seed) keeps a seed's picture identical.
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height)).convert("RGB")
    return Image.blend(image, noise, 0.03 + rng.random() * 0.02)


def draw(*, prompt: str, aspect_ratio: str = "16:9", seed: int = 0, variant: int = 0, caption: str = "") -> Image.Image:
    size = SIZES.get(aspect_ratio, SIZES["16:9"])
    rng = _rng(prompt, seed, variant)
    palette = palette_for(prompt, fallback=seed + variant)
    shot = shot_type_for(prompt)
    image = ImageChops.screen(_sky(size, palette, rng), _light(size, palette, rng))
    canvas = ImageDraw.Draw(image)
    horizon = {"aerial": 0.0, "low": 0.85, "close": 0.8}.get(shot, rng.uniform(0.55, 0.7))
    _land(canvas, size, palette, rng, horizon, is_urban(prompt))
    _subject(canvas, size, palette, rng, shot)
    image = _grain(image, rng)
    _caption(image, caption or prompt, f"offline · {palette.name} · {shot} · seed {seed} · v{variant + 1}")
    return image


def refine(*, parent: Image.Image, prompt: str, strength: float, seed: int = 0, variant: int = 0) -> Image.Image:
    """Blend a new drawing over the parent: at strength 0.3 the parent dominates, at 0.9 the new prompt does."""
    base = parent.convert("RGB")
    aspect = "9:16" if base.height > base.width * 1.2 else "1:1" if abs(base.width - base.height) < 40 else "16:9"
    fresh = draw(prompt=prompt, aspect_ratio=aspect, seed=seed, variant=variant, caption=prompt).resize(base.size)
    strength = min(max(strength, 0.05), 0.95)
    # Structure stays from the parent: blend, then re-apply the parent's edges.
    blended = Image.blend(base, fresh, strength * 0.8)
    edges = base.filter(ImageFilter.FIND_EDGES).convert("L").point(lambda v: 255 if v > 60 else 0)
    ImageDraw.Draw(edges).rectangle([0, int(base.height * 0.85), base.width, base.height], fill=0)
    blended.paste(base, mask=edges.point(lambda v: int(v * (1 - strength) * 0.6)))
    # Opaque, so the parent's caption does not show through the new one.
    _caption(blended, prompt, f"offline refine · strength {strength:.2f} · seed {seed} · v{variant + 1}", opaque=True)
    return blended


def to_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
