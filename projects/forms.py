from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from projects.models import (
    ElementKind,
    ProjectScene,
    ProjectStatus,
    Role,
    Scene,
    SceneShot,
    VideoProject,
    WorkflowVersion,
)

User = get_user_model()


class SignupForm(UserCreationForm):
    email = forms.EmailField(help_text="Teammates can add you to their team by this address.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists. Log in instead.")
        return email


class ProjectForm(forms.ModelForm):
    workflow_version = forms.ChoiceField(
        label="Mode",
        choices=WorkflowVersion.choices,
        initial=WorkflowVersion.V2_REDESIGN,
        widget=forms.RadioSelect,
    )

    class Meta:
        model = VideoProject
        fields = [
            "title",
            "prompt",
            "prompt_planner_data",
            "workflow_version",
            "aspect_ratio",
            "target_duration",
            "tone",
            "audience",
            "style",
        ]
        widgets = {
            "prompt": forms.Textarea(attrs={"rows": 3, "placeholder": "A cinematic journey through Tokyo at dawn"}),
            "prompt_planner_data": forms.Textarea(
                attrs={"rows": 6, "placeholder": "Everything in your head: references, must-have shots, the feel…"}
            ),
            "target_duration": forms.NumberInput(attrs={"min": 5, "max": 600, "step": 1}),
        }
        help_texts = {
            "prompt": "One or two sentences: what the video is about.",
            "target_duration": "Between 5 seconds and 10 minutes.",
        }

    def clean_target_duration(self) -> int:
        value = self.cleaned_data["target_duration"]
        if not 5 <= value <= 600:
            raise forms.ValidationError("Choose a length between 5 and 600 seconds.")
        return value


class DashboardFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "All statuses"), *ProjectStatus.choices])


class TeamForm(forms.Form):
    name = forms.CharField(max_length=80)


class TeamSwitchForm(forms.Form):
    team = forms.IntegerField(widget=forms.HiddenInput)


class MemberAddForm(forms.Form):
    identifier = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class BudgetForm(forms.Form):
    monthly_budget = forms.DecimalField(
        label="Monthly budget (USD)", min_value=Decimal("0"), max_value=Decimal("99999999"), decimal_places=2
    )


class PromptForm(forms.ModelForm):
    """The Plan page's first section, saved as the user types."""

    class Meta:
        model = VideoProject
        fields = ["title", "prompt", "prompt_planner_data", "aspect_ratio", "target_duration", "style_preset"]
        widgets = ProjectForm.Meta.widgets
        help_texts = ProjectForm.Meta.help_texts

    def clean_target_duration(self) -> int:
        return ProjectForm.clean_target_duration(self)


class AnswerForm(forms.Form):
    """A suggested answer (radio) or the user's own words, which win when given."""

    answer = forms.CharField(max_length=2000, required=False)
    answer_text = forms.CharField(max_length=2000, required=False)

    def clean(self) -> dict:
        data = super().clean()
        data["answer"] = (data.get("answer_text") or data.get("answer") or "").strip()
        return data


class BriefTextForm(forms.ModelForm):
    class Meta:
        model = VideoProject
        fields = ["tone", "audience", "style", "pacing", "key_message"]
        widgets = {"key_message": forms.Textarea(attrs={"rows": 2})}


class ElementForm(forms.Form):
    kind = forms.ChoiceField(choices=ElementKind.choices)
    name = forms.CharField(max_length=80)
    description = forms.CharField(label="Visual description", max_length=400, widget=forms.Textarea(attrs={"rows": 2}))

    def has_changed(self) -> bool:
        # A blank row is an empty row whatever its kind says: it is skipped, not an error.
        return bool(self["name"].value() or self["description"].value()) and super().has_changed()


ElementFormSet = forms.formset_factory(ElementForm, extra=1, can_delete=True, max_num=16, validate_max=True)


class SceneForm(forms.ModelForm):
    class Meta:
        model = ProjectScene
        fields = ["title", "description", "narration", "duration"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "narration": forms.Textarea(attrs={"rows": 2}),
            "duration": forms.NumberInput(attrs={"min": 1, "max": 120}),
        }

    def clean_duration(self) -> int:
        value = self.cleaned_data["duration"]
        if not 1 <= value <= 120:
            raise forms.ValidationError("A scene lasts 1 to 120 seconds.")
        return value


class ShotForm(forms.ModelForm):
    class Meta:
        model = SceneShot
        fields = ["description", "framing", "initial_prompt"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "initial_prompt": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_description(self) -> str:
        value = self.cleaned_data["description"].strip()
        if not value:
            raise forms.ValidationError("Describe the shot.")
        return value


class OrderForm(forms.Form):
    """A new order as the complete list of ids, first to last."""

    ids = forms.CharField(max_length=5000)

    def clean_ids(self) -> list[int]:
        try:
            ids = [int(part) for part in self.cleaned_data["ids"].split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("The order must be a list of ids.") from None
        if not ids or len(ids) != len(set(ids)):
            raise forms.ValidationError("The order must list each item once.")
        return ids


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])

    @property
    def offset(self) -> int:
        return -1 if self.cleaned_data["direction"] == "up" else 1


class RefineForm(forms.Form):
    parent = forms.IntegerField(widget=forms.HiddenInput, error_messages={"required": "Choose a variant to refine."})
    instruction = forms.CharField(
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "Same composition, more dramatic clouds"}),
        error_messages={"required": "Say what to change."},
    )
    strength = forms.FloatField(
        min_value=0.05,
        max_value=0.95,
        initial=0.6,
        widget=forms.NumberInput(attrs={"type": "range", "min": 0.05, "max": 0.95, "step": 0.05}),
        help_text="Low keeps the parent; high follows the instruction.",
    )


class UploadForm(forms.Form):
    image = forms.FileField(
        label="Upload your own image",
        help_text="PNG, JPEG or WebP, up to 20 MB and 40 megapixels.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )


class QuickSceneForm(forms.ModelForm):
    """A Quick storyboard scene: what it shows and how long it lasts."""

    class Meta:
        model = Scene
        fields = ["description", "duration"]
        # hx-preserve: when a move or reorder redraws the board, what is typed but not yet saved stays.
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3, "hx-preserve": "true"}),
            "duration": forms.NumberInput(attrs={"min": 1, "max": 60, "step": 0.5, "hx-preserve": "true"}),
        }
        help_texts = {"duration": "1 to 60 seconds. Clips are made 5 s long, or 10 s for scenes over 7.5 s."}

    def clean_description(self) -> str:
        value = self.cleaned_data["description"].strip()
        if len(value) < 3:
            raise forms.ValidationError("Say what the scene shows, in a few words at least.")
        return value

    def clean_duration(self) -> Decimal:
        value = self.cleaned_data["duration"]
        if not Decimal("1") <= value <= Decimal("60"):
            raise forms.ValidationError("A scene lasts 1 to 60 seconds.")
        return value


class QuickAnswersForm(forms.Form):
    """One optional answer field per clarifying question."""

    def __init__(self, *args: object, questions: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[f"answer-{question.pk}"] = forms.CharField(
                label=question.question, required=False, max_length=2000, initial=question.answer
            )

    def answers(self) -> dict[int, str]:
        """The answers posted (a redraft button posts none, and must not blank the saved ones)."""
        return {q.pk: self.cleaned_data[f"answer-{q.pk}"] for q in self.questions if f"answer-{q.pk}" in self.data}

    def rows(self) -> list[tuple[object, forms.BoundField]]:
        return [(q, self[f"answer-{q.pk}"]) for q in self.questions]


class QuickClipsForm(forms.Form):
    """What the user saw and confirmed: the total and the scenes it covers."""

    expected_total = forms.DecimalField(min_value=0, max_digits=10, decimal_places=2)
    scenes = forms.CharField(max_length=5000)

    def clean_scenes(self) -> list[int]:
        try:
            return [int(part) for part in self.cleaned_data["scenes"].split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("The scenes must be a list of ids.") from None
