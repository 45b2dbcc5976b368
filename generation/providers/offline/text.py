"""The offline LLM: deterministic questions, briefs and scripts made from the prompt itself.

It does not pretend to be creative; it is a usable planner that turns the
user's own words into the same structures a real model returns, so every
page works with no API key and tests are repeatable.
"""

import hashlib
import re

from generation.providers.offline.look import palette_for, shot_type_for

STOP = {
    "a", "an", "the", "of", "for", "and", "or", "to", "in", "on", "at", "with", "about", "our", "my", "your",
    "video", "film", "clip", "ad", "make", "create", "showing", "that", "this", "is", "are", "its", "from",
}  # fmt: skip
GENERIC = {"cinematic", "journey", "beautiful", "amazing", "story", "through", "short", "epic", "stunning", "travel"}
FRAMINGS = ["Wide establishing shot", "Medium shot", "Close-up", "Low angle", "Aerial shot", "Over the shoulder"]


def _pick(options: list[str], key: str, n: int = 0) -> str:
    digest = int(hashlib.sha256(f"{key}|{n}".encode()).hexdigest(), 16)
    return options[digest % len(options)]


def _subject(prompt: str) -> str:
    text = re.sub(r"\s+", " ", prompt.strip().rstrip(".!?"))
    text = re.sub(r"^(make|create|produce|a video about|a video of)\s+", "", text, flags=re.I)
    return text[:120] or "the story"


def _place(text: str) -> str:
    """The first proper noun after the opening word, e.g. Tokyo in "A journey through Tokyo"."""
    for match in re.finditer(r"(?<!^)(?<![.!?]\s)\b([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)", text.strip()):
        return match.group(1)
    return ""


def _keywords(text: str, limit: int = 6) -> list[str]:
    words = [
        w for w in re.findall(r"[a-zA-Z][a-zA-Z'-]+", text.lower()) if w not in STOP and w not in GENERIC and len(w) > 2
    ]
    seen: list[str] = []
    for word in words:
        if word not in seen:
            seen.append(word)
    return seen[:limit]


def questions(*, prompt: str, brain_dump: str = "") -> dict:
    subject = _subject(prompt)
    key = prompt + brain_dump
    items = [
        {
            "question": f"Who should “{subject}” speak to first?",
            "suggested_answers": ["Curious travellers", "Existing customers", "Young creatives", "Decision makers"],
        },
        {
            "question": "What feeling should people leave with?",
            "suggested_answers": ["Wonder", "Calm", "Excitement", "Trust"],
        },
        {
            "question": "Which visual style fits best?",
            "suggested_answers": ["Cinematic and moody", "Bright and clean", "Documentary, handheld", "Illustrated"],
        },
        {
            "question": "How should it move?",
            "suggested_answers": ["Slow and contemplative", "Steady build", "Fast cuts"],
        },
    ]
    noted = _keywords(brain_dump, 3)
    if noted:
        items.append(
            {
                "question": f"Your notes mention {', '.join(noted)}: which must be on screen?",
                "suggested_answers": [*(k.capitalize() for k in noted), "All of them"],
            }
        )
    # Rotate deterministically so different prompts do not all open with the same question.
    shift = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2
    return {"questions": items[shift:] + items[:shift]}


def brief(*, prompt: str, brain_dump: str = "", answers: list[dict] | None = None) -> dict:
    return _brief(prompt=prompt, brain_dump=brain_dump, answers=answers)


def _brief(*, prompt: str, brain_dump: str = "", answers: list[dict] | None = None) -> dict:
    answers = answers or []
    said = {a.get("question", ""): a.get("answer", "") for a in answers}

    def answer_to(word: str, default: str) -> str:
        for question, answer in said.items():
            if word in question.lower() and answer.strip():
                return answer.strip()[:200]
        return default

    subject = _subject(prompt)
    palette = palette_for(prompt + " " + brain_dump)
    place = _place(prompt) or _place(brain_dump) or "The location"
    return {
        "tone": answer_to("feeling", _pick(["Wonder", "Warm and hopeful", "Quietly dramatic"], prompt)),
        "audience": answer_to("speak", "People discovering " + subject.lower()),
        "style": answer_to("style", f"Cinematic, {palette.name} palette, natural light"),
        "pacing": answer_to("move", "Steady build"),
        "key_message": f"{subject} is worth experiencing for yourself.",
        "characters": [
            {
                "name": "The traveller",
                "description": "A lone figure in a dark coat, seen mostly from behind, curious and unhurried",
            }
        ],
        "places": [{"name": place, "description": f"{place} in {palette.name} light, layered depth, atmospheric haze"}],
    }


def _shot(scene_title: str, brief_: dict, n: int, key: str) -> dict:
    framing = FRAMINGS[(n + len(scene_title)) % len(FRAMINGS)]
    character = (brief_.get("characters") or [{}])[0]
    place = (brief_.get("places") or [{}])[0]
    description = f"{framing}: {scene_title.split(': ', 1)[-1]}"
    if n % 2 and character.get("name"):
        description += f", {character['name']} in frame"
    style = brief_.get("style") or "cinematic"
    prompt_bits = [framing, scene_title, place.get("description", ""), style]
    if n % 2 and character.get("description"):
        prompt_bits.append(character["description"])
    return {
        "description": description,
        "framing": framing,
        "image_prompt": ", ".join(bit for bit in prompt_bits if bit),
    }


BEATS = ["Opening", "Arrival", "Discovery", "Turning point", "Rising", "Details", "Climax", "Reflection", "Closing"]


def script(
    *,
    prompt: str,
    brief: dict | None = None,
    target_duration: int = 30,
    scene_count: int | None = None,
    answers: list[dict] | None = None,
) -> dict:
    brief_ = brief or {}
    if answers:
        # Quick mode has no brief step: the answers shape one here; what the user set on the project wins.
        brief_ = {**_brief(prompt=prompt, answers=answers), **{k: v for k, v in brief_.items() if v}}
    subject = _subject(prompt)
    count = scene_count or max(2, min(20, round(target_duration / 8)))
    per_scene = max(3, min(60, round(target_duration / count)))
    keywords = _keywords(prompt) or ["story"]
    scenes = []
    for i in range(count):
        beat = "Opening" if i == 0 else "Closing" if i == count - 1 else BEATS[1 + (i - 1) % (len(BEATS) - 2)]
        focus = keywords[i % len(keywords)]
        title = f"{beat}: {focus.capitalize()}"
        shots = [_shot(title, brief_, n, prompt) for n in range(2 if per_scene < 8 else 3)]
        scenes.append(
            {
                "title": title,
                "description": f"{beat} of {subject.lower()}, centred on {focus}.",
                "narration": _narration(beat, subject, focus),
                "duration": per_scene,
                "shots": shots,
            }
        )
    return {"scenes": scenes}


def shots(*, scene: dict, brief: dict | None = None, count: int = 3) -> dict:
    return {
        "shots": [
            _shot(scene.get("title", "the scene"), brief or {}, n + 1, scene.get("title", "")) for n in range(count)
        ]
    }


def _narration(beat: str, subject: str, focus: str) -> str:
    lines = {
        "Opening": f"It starts quietly: {subject.lower()}.",
        "Closing": f"And that is {subject.lower()}. Come and see it for yourself.",
    }
    return lines.get(beat, f"{beat}. Look closer at the {focus}.")


def shot_type(prompt: str) -> str:
    return shot_type_for(prompt)
