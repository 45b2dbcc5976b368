from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from projects.models import ProjectStatus, Role, VideoProject, WorkflowVersion

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


class BriefForm(ProjectForm):
    class Meta(ProjectForm.Meta):
        fields = [f for f in ProjectForm.Meta.fields if f != "workflow_version"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["workflow_version"]


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
