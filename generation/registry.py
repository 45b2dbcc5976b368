"""Which model serves a capability, and what a call to it costs.

Resolution: an operator's CapabilityRoute (admin) wins if its provider has
credentials; otherwise settings.PROVIDERS[capability] ("auto" means the API
provider when its key is set); a provider without credentials falls back to
offline. The registry row chosen is recorded on the Job, so the UI can say
which provider and model made each asset.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError

from generation.models import AIModel, Capability, CapabilityRoute, PriceUnit, Provider

API_PROVIDER = {Capability.TEXT: Provider.OPENAI}  # every other capability goes to Replicate


class NoModelError(LookupError):
    pass


def has_credentials(provider: str) -> bool:
    if provider == Provider.REPLICATE:
        return bool(settings.REPLICATE_API_TOKEN)
    if provider == Provider.OPENAI:
        return bool(settings.OPENAI_API_KEY)
    return True


def resolve(capability: str) -> AIModel:
    route = CapabilityRoute.objects.select_related("model").filter(capability=capability).first()
    if route and route.model.is_active and has_credentials(route.model.provider):
        return route.model
    wanted = settings.PROVIDERS.get(capability, "auto")
    if wanted == "auto":
        wanted = API_PROVIDER.get(capability, Provider.REPLICATE)
    if not has_credentials(wanted):
        wanted = Provider.OFFLINE
    for provider in dict.fromkeys([wanted, Provider.OFFLINE]):
        model = AIModel.objects.filter(
            capability=capability, provider=provider, is_default=True, is_active=True
        ).first()
        if model:
            return model
    raise NoModelError(f"No active model is registered for {capability}. Add one in the admin's model registry.")


def usable(capability: str) -> list[AIModel]:
    """The active models a user may pick for capability: those whose provider has credentials here."""
    models = AIModel.objects.filter(capability=capability, is_active=True).order_by("provider", "label")
    return [model for model in models if has_credentials(model.provider)]


def check_usable(model: AIModel, capability: str) -> None:
    if model.capability != capability:
        raise NoModelError(f"{model.label} does not do {capability}.")
    if not model.is_active:
        raise NoModelError(f"{model.label} has been switched off by an operator. Choose another model.")
    if not has_credentials(model.provider):
        raise NoModelError(f"{model.label} needs {model.get_provider_display()} credentials, which are not set here.")


def units(model: AIModel, params: dict, *, outputs: int | None = None, seconds: float | None = None) -> Decimal:
    """How many price units a call uses: known after the call (outputs, seconds of output), estimated before."""
    unit = model.price_unit
    if unit == PriceUnit.PER_IMAGE:
        return Decimal(outputs if outputs is not None else int(params.get("num_outputs", 1)))
    if unit == PriceUnit.PER_SECOND:
        # Billed by the seconds made: after the call, the output's measured length.
        return Decimal(str(round(seconds, 3))) if seconds else Decimal(str(params.get("duration", 5)))
    if unit == PriceUnit.PER_1K_CHARS:
        return Decimal(len(str(params.get("text", "")))) / 1000
    if unit == PriceUnit.PER_1K_TOKENS:
        # Prompt tokens (about 4 characters each) plus a generous answer.
        chars = sum(len(str(v)) for v in params.values())
        return Decimal(chars // 4 + 1500) / 1000
    return Decimal(1)


def unit_price(model: AIModel, params: dict) -> Decimal:
    """The published price of one unit for this call: some models price by an input (video by resolution)."""
    prices = model.capabilities.get("prices") or {}
    by, values = prices.get("by"), prices.get("values") or {}
    if by and str(params.get(by)) in values:
        return Decimal(str(values[str(params.get(by))]))
    return model.unit_price


def price(model: AIModel, quantity: Decimal, params: dict | None = None) -> Decimal:
    each = unit_price(model, params or {})
    return (each * quantity).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)


def estimate(model: AIModel, params: dict) -> Decimal:
    return price(model, units(model, params), params)


# What a model takes -------------------------------------------------------------


def voices(model: AIModel) -> list[tuple[str, str]]:
    """The voices a speech model accepts, as (id, label)."""
    listed = model.capabilities.get("voices") or []
    return [(str(v[0]), str(v[1])) if isinstance(v, list | tuple) else (str(v), str(v)) for v in listed]


def default_voice(model: AIModel) -> str:
    found = voices(model)
    return found[0][0] if found else ""


def seed_behaviour(model: AIModel) -> str:
    """exact, approximate or none: whether a repeat with the same seed gives the same output."""
    return str(model.capabilities.get("seed", "exact" if model.provider == Provider.OFFLINE else "approximate"))


def has_own_audio(model: AIModel | None) -> bool:
    return bool(model and model.capabilities.get("has_audio"))


def max_duration(model: AIModel) -> int | None:
    value = model.capabilities.get("max_duration")
    return int(value) if value else None


def check_input(model: AIModel, capability: str, params: dict) -> None:
    """What the registry knows a model refuses, beyond its schema: a voice it does not have, a length it cannot make."""
    if capability == Capability.SPEECH and (known := dict(voices(model))):
        if params.get("voice") not in known:
            raise ValidationError(
                f"{model.label} has no voice {params.get('voice')!r}. Choose one of: {', '.join(known.values())}."
            )
    if capability == Capability.MUSIC and (longest := max_duration(model)):
        if float(params.get("duration", 0)) > longest:
            raise ValidationError(f"{model.label} makes at most {longest} s in one call; make a longer bed in parts.")
