"""The offline provider: every capability made on this machine, answered within the call."""

from typing import TYPE_CHECKING

from django.core.files.storage import default_storage
from PIL import Image

from generation.providers.base import Completed, OutputFile, ProviderError, RemoteState
from generation.providers.files import local_copy
from generation.providers.offline import image, music, speech, text, video

if TYPE_CHECKING:
    from generation.models import Job

TEXT_TASKS = {"questions": text.questions, "brief": text.brief, "script": text.script, "shots": text.shots}


class OfflineProvider:
    name = "offline"
    synchronous = True  # answers within the call

    def start(self, job: "Job") -> Completed:
        params = job.input
        handler = getattr(self, f"_{job.capability}", None)
        if handler is None:
            raise ProviderError(f"The offline provider cannot do {job.capability}.")
        return handler(params)

    def poll(self, job: "Job") -> RemoteState:
        raise ProviderError("Offline jobs finish within the call; there is nothing to poll.")

    def cancel(self, job: "Job") -> None:
        """Offline work is not cancellable once started; the job row is canceled by the caller."""

    def find_submitted(self, job: "Job") -> str | None:
        return None

    def _text(self, params: dict) -> Completed:
        task = params.get("task")
        if task not in TEXT_TASKS:
            raise ProviderError(f"Unknown text task {task!r}.")
        arguments = {k: v for k, v in params.items() if k != "task"}
        return Completed(data={"result": TEXT_TASKS[task](**arguments)})

    def _image(self, params: dict) -> Completed:
        seed = int(params.get("seed", 0))
        files = []
        for n in range(int(params.get("num_outputs", 1))):
            picture = image.draw(
                prompt=params["prompt"],
                aspect_ratio=params.get("aspect_ratio", "16:9"),
                seed=seed,
                variant=int(params.get("variant", 0)) + n,
                caption=params.get("caption", ""),
            )
            files.append(OutputFile(kind="image", data=image.to_png(picture), extension="png"))
        return Completed(files=files, data={"seed": seed})

    def _refine(self, params: dict) -> Completed:
        seed = int(params.get("seed", 0))
        with default_storage.open(params["image"], "rb") as handle:
            parent = Image.open(handle)
            parent.load()
        picture = image.refine(
            parent=parent,
            prompt=params["prompt"],
            strength=float(params.get("strength", 0.6)),
            seed=seed,
            variant=int(params.get("variant", 0)),
        )
        return Completed(
            files=[OutputFile(kind="image", data=image.to_png(picture), extension="png")], data={"seed": seed}
        )

    def _video(self, params: dict) -> Completed:
        seed = int(params.get("seed", 0))
        with local_copy(params["image"]) as still:
            clip = video.animate(
                image_path=still,
                duration=int(params.get("duration", 5)),
                aspect_ratio=params.get("aspect_ratio", "16:9"),
                resolution=params.get("resolution", "720p"),
                prompt=params.get("prompt", ""),
                seed=seed,
            )
        return Completed(
            files=[OutputFile(kind="video", data=clip, extension="mp4")],
            data={"seed": seed, "motion": video.motion_for(params.get("prompt", ""), seed)},
        )

    def _speech(self, params: dict) -> Completed:
        audio = speech.speak(text=params["text"], voice=params.get("voice", "narrator"))
        return Completed(files=[OutputFile(kind="audio", data=audio, extension="wav")])

    def _music(self, params: dict) -> Completed:
        duration = float(params.get("duration", 30))
        if not 1 <= duration <= 600:
            raise ProviderError("Music can be 1 to 600 seconds long.")
        audio = music.compose(prompt=params.get("prompt", ""), duration=duration, seed=int(params.get("seed", 0)))
        return Completed(
            files=[OutputFile(kind="audio", data=audio, extension="wav")],
            data={"mood": music.mood_for(params.get("prompt", ""))},
        )

    def _lipsync(self, params: dict) -> Completed:
        raise ProviderError(
            "Lipsync is not available offline: it needs a lipsync model. Set REPLICATE_API_TOKEN to use one."
        )
