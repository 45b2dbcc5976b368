from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from generation import contracts, services
from generation.models import AIModel, CapabilityRoute, Job, JobStatus, PeriodicRun, WebhookDelivery
from generation.provider_check import providers_check
from generation.selectors import provider_health


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("old", "Older than 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value in self.WINDOWS:
            return queryset.filter(created_at__gte=timezone.now() - self.WINDOWS[value])
        if value == "old":
            return queryset.filter(created_at__lt=timezone.now() - self.WINDOWS["7d"])
        return queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "capability",
        "provider",
        "model_id",
        "status",
        "attempts",
        "estimated_cost",
        "actual_cost",
        "project",
        "created_at",
        "app_link",
    ]
    list_filter = ["status", "provider", "capability", AgeFilter]
    search_fields = ["prediction_id", "idempotency_key", "model_id", "project__title", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["project"]
    autocomplete_fields = ["project", "team", "created_by"]
    raw_id_fields = ["ai_model"]
    # The ledger is the record of what was asked and spent: operators act through the actions, not by editing it.
    readonly_fields = [f.name for f in Job._meta.fields if f.name not in ("max_attempts", "deadline_at")] + [
        "target_link"
    ]
    actions = ["retry_jobs", "cancel_jobs", "run_sweeper"]

    @admin.display(description="app")
    def app_link(self, job: Job) -> str:
        if job.project is None:
            return "project deleted"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Open project</a>', job.project.get_absolute_url()
        )

    @admin.display(description="produces")
    def target_link(self, job: Job) -> str:
        target = job.target
        if target is None:
            return "-"
        url = reverse(f"admin:{target._meta.app_label}_{target._meta.model_name}_change", args=[target.pk])
        return format_html('<a href="{}">{}</a>', url, target)

    @admin.action(description="Retry the selected failed or canceled jobs (as new jobs)")
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        done = 0
        for job in queryset.filter(status__in=[JobStatus.FAILED, JobStatus.CANCELED]):
            try:
                services.job_retry(job=job)
                done += 1
            except ValidationError as error:
                self.message_user(request, f"Job {job.pk}: {' '.join(error.messages)}", messages.ERROR)
        self.message_user(request, f"Queued {done} job(s) again.")

    @admin.action(description="Cancel the selected running jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        canceled = sum(services.job_cancel(job=job, reason="Canceled by an operator.") for job in queryset)
        self.message_user(request, f"Canceled {canceled} job(s).")

    @admin.action(description="Run the sweeper now")
    def run_sweeper(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self.message_user(request, f"Sweeper: {services.sweep()}.")

    def get_urls(self) -> list:
        return [
            path("health/", self.admin_site.admin_view(self.health_view), name="generation_job_health"),
            *super().get_urls(),
        ]

    def health_view(self, request: HttpRequest) -> HttpResponse:
        hours = 24
        rows = []
        for row in provider_health(hours=hours):
            finished = row["succeeded"] + row["failed"]
            rows.append({**row, "success_rate": round(row["succeeded"] / finished * 100, 1) if finished else None})
        # Comparing with what Replicate publishes now is a network call per model: only when asked.
        fetch = request.method == "POST"
        context = {
            **self.admin_site.each_context(request),
            "title": "Provider health",
            "rows": rows,
            "hours": hours,
            "opts": self.model._meta,
            "contracts": providers_check(fetch=fetch),
            "fetched": fetch,
            "can_fetch": bool(settings.REPLICATE_API_TOKEN),
        }
        return TemplateResponse(request, "admin/generation/health.html", context)


class AIModelForm(forms.ModelForm):
    class Meta:
        model = AIModel
        fields = "__all__"  # noqa: DJ007 - the operations console edits every field of a registry row

    def clean(self) -> dict:
        data = super().clean()
        if data.get("provider") == "replicate" and data.get("model_id"):
            problems = contracts.registry_problems(
                model_id=data["model_id"],
                capability=data.get("capability", ""),
                input_mapping=data.get("input_mapping") or {},
            )
            if problems:
                # Saved anyway it would fail every call it makes, after the budget was reserved.
                raise forms.ValidationError(problems)
        return data


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    form = AIModelForm
    list_display = [
        "label",
        "capability",
        "provider",
        "model",
        "price_unit",
        "unit_price",
        "is_default",
        "is_active",
        "contract",
    ]
    list_filter = ["capability", "provider", "is_default", "is_active"]
    list_editable = ["unit_price", "is_active"]
    search_fields = ["label", "model_id"]
    date_hierarchy = "created_at"

    @admin.display(description="model id", ordering="model_id")
    def model(self, row: AIModel) -> str:
        # A community model's id carries a 64-character version: shortened, it keeps the list readable.
        name, version = contracts.split_model_id(row.model_id)
        return format_html('<span title="{}">{}{}</span>', row.model_id, name, f":{version[:8]}…" if version else "")

    @admin.display(description="contract")
    def contract(self, row: AIModel) -> str:
        if row.provider != "replicate":
            return "-"
        problems = contracts.registry_problems(
            model_id=row.model_id, capability=row.capability, input_mapping=row.input_mapping
        )
        return "fits" if not problems else format_html("<b>{}</b>", "; ".join(problems))


@admin.register(CapabilityRoute)
class CapabilityRouteAdmin(admin.ModelAdmin):
    list_display = ["capability", "model", "updated_at"]
    autocomplete_fields = ["model"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "prediction_id", "prediction_status", "received_at", "processed_at", "outcome", "job"]
    list_filter = ["prediction_status", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["webhook_id", "prediction_id"]
    date_hierarchy = "received_at"
    raw_id_fields = ["job"]
    readonly_fields = [
        "webhook_id",
        "received_at",
        "timestamp",
        "prediction_id",
        "prediction_status",
        "payload",
        "processed_at",
        "outcome",
    ]


@admin.register(PeriodicRun)
class PeriodicRunAdmin(admin.ModelAdmin):
    """Whether the sweeper and the other periodic tasks are alive: a last start older than a few intervals means
    no worker (or `sweep_jobs --loop`) is running."""

    list_display = ["name", "last_started_at", "last_finished_at", "last_result", "runs", "failures"]
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PeriodicRun | None = None) -> bool:
        return False
