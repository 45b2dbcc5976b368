"""Offline music: a chord bed synthesized with numpy, shaped by the mood."""

import hashlib
import io
import re
import wave
from dataclasses import dataclass

import numpy as np

RATE = 48000


@dataclass(frozen=True)
class Mood:
    bpm: int
    root: float  # Hz
    chords: tuple[tuple[int, ...], ...]  # semitone offsets from the root
    brightness: float  # 0 dark .. 1 bright
    pulse: bool


MOODS = {
    "upbeat": Mood(120, 220.0, ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)), 0.8, True),
    "calm": Mood(70, 196.0, ((0, 4, 7, 11), (5, 9, 12, 16), (9, 12, 16, 19), (7, 11, 14, 17)), 0.4, False),
    "dramatic": Mood(84, 110.0, ((0, 3, 7), (8, 12, 15), (5, 8, 12), (7, 11, 14)), 0.55, True),
    "mysterious": Mood(64, 146.8, ((0, 3, 7, 10), (1, 5, 8), (0, 3, 6), (10, 13, 17)), 0.3, False),
    "inspiring": Mood(96, 261.6, ((0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14)), 0.7, True),
    "melancholic": Mood(72, 174.6, ((0, 3, 7), (8, 12, 15), (3, 7, 10), (10, 14, 17)), 0.35, False),
}
MOOD_WORDS = {
    "upbeat": ("upbeat", "energetic", "fun", "playful", "happy", "bright"),
    "dramatic": ("dramatic", "epic", "intense", "cinematic", "bold", "action"),
    "mysterious": ("mysterious", "dark", "suspense", "noir", "eerie"),
    "inspiring": ("inspiring", "hopeful", "uplifting", "motivational", "triumphant"),
    "melancholic": ("sad", "melancholic", "wistful", "nostalgic", "bittersweet"),
    "calm": ("calm", "peaceful", "soft", "ambient", "relaxed", "minimal"),
}


def mood_for(text: str) -> str:
    lowered = text.lower()
    for name, words in MOOD_WORDS.items():
        if any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in words):
            return name
    return "calm"


def _voice(freq: float, t: np.ndarray, brightness: float) -> np.ndarray:
    wave_ = np.sin(2 * np.pi * freq * t)
    for harmonic in (2, 3, 4):
        wave_ += (brightness / harmonic**1.4) * np.sin(2 * np.pi * freq * harmonic * t)
    return wave_


def compose(*, prompt: str, duration: float, seed: int = 0) -> bytes:
    """Stereo 16-bit WAV of duration seconds."""
    mood = MOODS[mood_for(prompt)]
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(f"{prompt}|{seed}".encode()).digest()[:4], "big"))
    beat = 60 / mood.bpm
    bar = beat * 4
    total = int(duration * RATE)
    left = np.zeros(total)
    right = np.zeros(total)
    start = 0.0
    chord_index = 0
    while start < duration:
        n0, n1 = int(start * RATE), min(int((start + bar) * RATE), total)
        t = np.arange(n1 - n0) / RATE
        envelope = np.minimum(1, t / 0.4) * np.exp(-t / (bar * 1.6))
        chord = mood.chords[chord_index % len(mood.chords)]
        for i, step in enumerate(chord):
            freq = mood.root * 2 ** (step / 12) * (1 + rng.normal(0, 0.0015))
            tone = _voice(freq, t, mood.brightness) * envelope / len(chord)
            pan = 0.5 + (i - (len(chord) - 1) / 2) * 0.25
            left[n0:n1] += tone * (1 - pan)
            right[n0:n1] += tone * pan
        bass = np.sin(2 * np.pi * mood.root / 2 * 2 ** (chord[0] / 12) * t) * envelope * 0.5
        left[n0:n1] += bass
        right[n0:n1] += bass
        if mood.pulse:
            for b in range(4):
                k0 = n0 + int(b * beat * RATE)
                k1 = min(k0 + int(0.12 * RATE), n1)
                if k0 < k1:
                    kt = np.arange(k1 - k0) / RATE
                    kick = np.sin(2 * np.pi * (55 + 60 * np.exp(-kt * 30)) * kt) * np.exp(-kt * 25) * 0.6
                    left[k0:k1] += kick
                    right[k0:k1] += kick
        start += bar
        chord_index += 1
    fade = min(int(1.5 * RATE), total // 4)
    ramp = np.linspace(0, 1, fade)
    for channel in (left, right):
        channel[:fade] *= ramp
        channel[total - fade :] *= ramp[::-1]
    stereo = np.stack([left, right], axis=1)
    stereo *= 0.7 / max(np.abs(stereo).max(), 1e-9)
    pcm = (stereo * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()
