from django import forms

from generation.models import AIModel
from storyboard.models import DURATIONS, GenerationMode
from storyboard.seeds import seed_notes
from storyboard.selectors import animation_models

DURATION_CHOICES = [(d, f"{d} seconds") for d in DURATIONS]


def model_label(model: AIModel) -> str:
    price = f"${model.unit_price:.3f} {model.get_price_unit_display()}" if model.unit_price else "free"
    return f"{model.label} ({price})"


class ModelField(forms.TypedChoiceField):
    """A registry model among those usable here; the list is read once per page, not once per form."""

    def __init__(self, *, models: list[AIModel], blank: str | None = None, **kwargs: object) -> None:
        by_pk = {str(m.pk): m for m in models}
        choices = [("", blank)] if blank is not None else []
        super().__init__(
            choices=[*choices, *((str(m.pk), model_label(m)) for m in models)],
            coerce=lambda pk: by_pk[str(pk)],
            empty_value=None,
            required=blank is None,
            error_messages={"invalid_choice": "That model is not available here. Choose one from the list."},
            **kwargs,
        )

    def prepare_value(self, value: object) -> object:
        return value.pk if isinstance(value, AIModel) else value


def _tell_seeds(field: forms.Field, models: list[AIModel]) -> None:
    """Say under a seed field which of the offered models do not repeat exactly with the same seed."""
    if notes := seed_notes(models):
        field.help_text = f"{field.help_text} {' '.join(notes)}"


class ShotAnimationForm(forms.Form):
    ai_model = forms.Field(required=False)  # replaced in __init__: the choices depend on credentials
    duration = forms.TypedChoiceField(choices=DURATION_CHOICES, coerce=int, initial=5)
    motion_prompt = forms.CharField(
        label="Motion prompt",
        max_length=1000,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Slow push in, drifting clouds"}),
    )
    seed = forms.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        help_text="Blank: a new random seed each time. Every segment records the seed it used.",
    )

    def __init__(self, *args: object, models: list[AIModel] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        models = animation_models() if models is None else models
        self.fields["ai_model"] = ModelField(models=models, blank="Default model", label="Model")
        _tell_seeds(self.fields["seed"], models)


class ReviewSettingsForm(forms.Form):
    mode = forms.ChoiceField(
        choices=GenerationMode.choices,
        widget=forms.RadioSelect,
        help_text="Parallel makes a batch at once. Sequential makes one, waits for your approval, then the next.",
    )
    batch_size = forms.IntegerField(min_value=1, max_value=20, help_text="Segments made at once in parallel mode.")
    auto_approve = forms.BooleanField(required=False, help_text="Approve each segment as soon as it is made.")


class AnimateForm(forms.Form):
    shot = forms.TypedMultipleChoiceField(coerce=int, error_messages={"required": "Choose at least one shot."})
    start_from = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    expected_total = forms.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)

    def __init__(self, *args: object, shot_ids: list[int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choices = [(pk, pk) for pk in shot_ids]
        self.fields["shot"].choices = choices
        self.fields["start_from"].choices = [("", ""), *choices]

    def chosen(self, ordered: list[int]) -> list[int]:
        """The chosen shots in storyboard order, from start_from on when given."""
        chosen = set(self.cleaned_data["shot"])
        start = self.cleaned_data.get("start_from")
        ids = ordered[ordered.index(start) :] if start in ordered else ordered
        return [pk for pk in ids if pk in chosen]


class ApproveForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[("", "No rating"), *[(n, "★" * n) for n in range(5, 0, -1)]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    feedback = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "The character's face changes halfway through"}),
        error_messages={"required": "Say why you reject it."},
    )
    suggested_changes = forms.CharField(
        label="Suggested changes",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Keep the camera still; less motion in the sky"}),
    )


class RegenerateForm(forms.Form):
    prompt = forms.CharField(
        label="Motion prompt", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    seed = forms.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        help_text="Blank for a new random seed; keep it to vary only the prompt.",
    )
    duration = forms.TypedChoiceField(choices=DURATION_CHOICES, coerce=int)
    ai_model = forms.Field()
    expected_cost = forms.DecimalField(max_digits=12, decimal_places=2, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: object, models: list[AIModel] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        models = animation_models() if models is None else models
        self.fields["ai_model"] = ModelField(models=models, label="Model")
        _tell_seeds(self.fields["seed"], models)


class NotesForm(forms.Form):
    user_notes = forms.CharField(
        label="Notes", max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
