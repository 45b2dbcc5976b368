"""Offline speech with espeak-ng (Debian's espeak-ng package; `make run` installs it)."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from generation.providers.base import ProviderError

# Our voice names to espeak-ng voices, so the same project voice works offline and online.
VOICES = {
    "narrator": "en-us+m3",
    "warm": "en-us+f3",
    "bright": "en-gb+f4",
    "deep": "en-us+m1",
    "british": "en-gb+m3",
}


def speak(*, text: str, voice: str, speed: int = 160) -> bytes:
    """WAV bytes of text read aloud."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ProviderError("Offline speech needs espeak-ng: install it with `apt-get install espeak-ng`.")
    if not text.strip():
        raise ProviderError("There is no text to speak.")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        result = subprocess.run(  # noqa: S603 - fixed binary, argument list, no shell
            [exe, "-v", VOICES.get(voice, VOICES["narrator"]), "-s", str(speed), "-w", str(out), "--stdin"],
            input=text,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0 or not out.exists():
            raise ProviderError(f"espeak-ng failed: {result.stderr.strip()[:300]}")
        return out.read_bytes()
