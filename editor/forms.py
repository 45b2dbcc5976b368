from django import forms

from editor import sound
from editor.models import Captions, SoundSettings
from editor.renderer import PRESETS, TRANSITIONS
from editor.services import LOUDNESS_TARGETS
from generation import registry
from generation.models import AIModel


class SoundSettingsForm(forms.ModelForm):
    """The voice (one of the speech model's own) and the mix; the voice is kept per speech model."""

    voice = forms.ChoiceField(label="Voice")

    class Meta:
        model = SoundSettings
        fields = ["music_volume", "duck_music"]
        widgets = {"music_volume": forms.NumberInput(attrs={"min": 0, "max": 100, "step": 5})}

    def __init__(self, *args: object, model: AIModel | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        field = self.fields["voice"]
        choices = registry.voices(model) if model else []
        if model is None:
            field.choices, field.required = [("", "No speech model")], False
            field.help_text = "No speech model is switched on: an operator can switch one on in the model registry."
            return
        if not choices:
            # A model that lists no voices speaks with its own default.
            field.choices, field.required = [("", "The model's own voice")], False
            return
        field.choices = choices
        # Django fills in %(value)s: escape any other % in the model's voice labels.
        refusal = sound.voice_refusal(model, "\0").replace("%", "%%").replace("\0", "%(value)s")
        field.error_messages = {**field.error_messages, "invalid_choice": refusal}
        field.help_text = f"The voices of {model.label}, the speech model in use. Each speech model keeps its own."
        if not self.is_bound:
            self.initial["voice"] = self.instance.voice_for(model)

    def clean_music_volume(self) -> int:
        value = self.cleaned_data["music_volume"]
        if not 0 <= value <= 100:
            raise forms.ValidationError("The music level is 0 to 100 %.")
        return value


class MusicForm(forms.Form):
    mood = forms.CharField(max_length=300, required=False)


class MusicUploadForm(forms.Form):
    track = forms.FileField(help_text="MP3, WAV, M4A/AAC, OGG or FLAC; it loops under the whole video.")


TRANSITION_LABELS = {
    "cut": "Cut",
    "fade": "Fade through black",
    "dissolve": "Dissolve",
    "wipe": "Wipe",
    "slide": "Slide",
}


class CompileForm(forms.Form):
    """The settings; the order and the joins come as parallel lists (segment, transition, length) in page order."""

    aspect_ratio = forms.ChoiceField(label="Output", choices=[(a, f"{a} · {w} x {h}") for a, (w, h) in PRESETS.items()])
    captions = forms.ChoiceField(choices=Captions.choices, initial=Captions.SOFT)
    target_lufs = forms.TypedChoiceField(
        label="Loudness", choices=[(str(k), v) for k, v in LOUDNESS_TARGETS.items()], coerce=float, initial="-14.0"
    )
    voice = forms.BooleanField(label="Voiceovers", required=False, initial=True)
    music = forms.BooleanField(label="Music bed", required=False, initial=True)
    keep_own_sound = forms.BooleanField(
        label="Keep the video models' own sound",
        required=False,
        initial=False,
        help_text="Some video models (Wan 2.5) put their own soundtrack on the clip; it is muted unless you keep it.",
    )

    def __init__(self, *args: object, lists: dict[str, list[str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lists = lists or {}

    def clean(self) -> dict:
        data = super().clean()
        segments, kinds, lengths = (self.lists.get(k, []) for k in ("segment", "transition", "length"))
        try:
            data["segment_ids"] = [int(value) for value in segments]
        except ValueError:
            raise forms.ValidationError("The segment list is damaged. Reload the page.") from None
        if not data["segment_ids"]:
            raise forms.ValidationError("Choose at least one approved segment to compile.")
        if len(kinds) != len(segments) or len(lengths) != len(segments):
            raise forms.ValidationError("Every segment needs its transition. Reload the page.")
        transitions = []
        for n, (kind, length) in enumerate(zip(kinds[1:], lengths[1:], strict=True), start=2):
            if kind not in TRANSITIONS:
                raise forms.ValidationError(f"The transition into segment {n}: unknown transition {kind!r}.")
            try:
                seconds = float(length or 0)
            except ValueError:
                raise forms.ValidationError(
                    f"Segment {n}: the transition length must be a number of seconds."
                ) from None
            transitions.append({"kind": kind, "length": seconds})
        data["transitions"] = transitions
        return data
