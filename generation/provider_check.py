"""Does the registry still fit what the providers publish?

Two questions, asked by `manage.py providers_check`, the admin's provider
health page and the system checks:
- offline: does each Replicate row's input mapping fit its stored contract
  (generation/contracts/replicate/)? A mapping to an input the model does not
  have, or a required input never sent, would fail every call.
- with a token: has Replicate published a schema that differs from the stored
  one (a new required input, a removed enum value)? The stored contract is
  what the fake Replicate in the tests enforces, so a change there means our
  tests no longer prove the real calls.
"""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import checks

from generation import contracts
from generation.models import AIModel, Provider


@dataclass
class ModelCheck:
    model_id: str
    label: str
    capability: str
    contract: contracts.Contract | None
    problems: list[str] = field(default_factory=list)
    changes: list[str] | None = None  # None: not compared with what Replicate publishes now
    published_version: str = ""
    fetch_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and not self.changes and not self.fetch_error


def registry_checks(rows: list[AIModel] | None = None) -> list[ModelCheck]:
    rows = rows if rows is not None else list(AIModel.objects.filter(provider=Provider.REPLICATE, is_active=True))
    return [
        ModelCheck(
            model_id=row.model_id,
            label=row.label,
            capability=row.capability,
            contract=contracts.for_model(row.model_id),
            problems=contracts.registry_problems(
                model_id=row.model_id, capability=row.capability, input_mapping=row.input_mapping
            ),
        )
        for row in rows
    ]


def published_changes(check: ModelCheck, client: Any) -> None:
    """Fetch the model's latest version schema from Replicate and compare it with the stored contract."""
    if check.contract is None:
        return
    name, pinned = contracts.split_model_id(check.model_id)
    try:
        data = client._request("GET", f"/v1/models/{name}").json()
    except Exception as exc:  # a refusal, a lost connection: reported per model, never fatal to the check
        check.fetch_error = f"could not fetch {name}: {type(exc).__name__}: {exc}"
        return
    latest = data.get("latest_version") or {}
    check.published_version = str(latest.get("id") or "")
    schema = (latest.get("openapi_schema") or {}).get("components")
    if not schema:
        check.fetch_error = f"{name}: Replicate published no schema"
        return
    check.changes = contracts.describe_changes(check.contract.openapi["components"], schema)
    if pinned and check.published_version and check.published_version != pinned:
        check.changes.append(f"a newer version {check.published_version[:12]}… is published (we run {pinned[:12]}…)")


def providers_check(*, fetch: bool) -> list[ModelCheck]:
    found = registry_checks()
    if fetch and settings.REPLICATE_API_TOKEN:
        from generation.providers.replicate_api import _Client  # noqa: PLC0415

        client = _Client()
        for check in found:
            published_changes(check, client)
    return found


@checks.register(checks.Tags.models)
def check_default_registry(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """At start-up: the registry this code ships must fit the contracts it ships (no database needed)."""
    from generation.defaults import MODELS  # noqa: PLC0415

    errors = []
    for capability, provider, model_id, _label, _unit, _price, mapping, _caps in MODELS:
        if provider != Provider.REPLICATE:
            continue
        for problem in contracts.registry_problems(model_id=model_id, capability=capability, input_mapping=mapping):
            errors.append(
                checks.Error(problem, hint="Fix generation/defaults.py or the stored contract.", id="gen.E001")
            )
    return errors


@checks.register(checks.Tags.database)
def check_registry_rows(app_configs: object = None, databases: list[str] | None = None, **kwargs: object) -> list:
    """With the database (migrate, `check --database default`): the operators' registry rows fit their contracts."""
    if not databases:
        return []
    try:
        found = registry_checks()
    except Exception:
        return []
    return [
        checks.Warning(f"{check.label}: {problem}", hint="Edit it in the admin's model registry.", id="gen.W001")
        for check in found
        for problem in check.problems
    ]
