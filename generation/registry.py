"""Which model serves a capability, and what a call to it costs.

Resolution: an operator's CapabilityRoute (admin) wins if its provider has
credentials; otherwise settings.PROVIDERS[capability] ("auto" means the API
provider when its key is set); a provider without credentials falls back to
offline. The registry row chosen is recorded on the Job, so the UI can say
which provider and model made each asset.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

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


def units(model: AIModel, params: dict, *, outputs: int | None = None) -> Decimal:
    """How many price units a call uses: known exactly after the call (outputs), estimated before."""
    unit = model.price_unit
    if unit == PriceUnit.PER_IMAGE:
        return Decimal(outputs if outputs is not None else int(params.get("num_outputs", 1)))
    if unit == PriceUnit.PER_SECOND:
        return Decimal(str(params.get("duration", 5)))
    if unit == PriceUnit.PER_1K_CHARS:
        return Decimal(len(str(params.get("text", "")))) / 1000
    if unit == PriceUnit.PER_1K_TOKENS:
        # Prompt tokens (about 4 characters each) plus a generous answer.
        chars = sum(len(str(v)) for v in params.values())
        return Decimal(chars // 4 + 1500) / 1000
    return Decimal(1)


def price(model: AIModel, quantity: Decimal) -> Decimal:
    return (model.unit_price * quantity).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)


def estimate(model: AIModel, params: dict) -> Decimal:
    return price(model, units(model, params))
