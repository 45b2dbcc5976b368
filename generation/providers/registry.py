from functools import cache

from generation.models import Provider as ProviderName
from generation.providers.base import Provider


@cache
def provider_instance(name: str) -> Provider:
    # Imported lazily: the API clients are heavy and unused offline.
    if name == ProviderName.OFFLINE:
        from generation.providers.offline.provider import OfflineProvider  # noqa: PLC0415

        return OfflineProvider()
    if name == ProviderName.REPLICATE:
        from generation.providers.replicate_api import ReplicateProvider  # noqa: PLC0415

        return ReplicateProvider()
    if name == ProviderName.OPENAI:
        from generation.providers.openai_api import OpenAIProvider  # noqa: PLC0415

        return OpenAIProvider()
    raise ValueError(f"Unknown provider {name!r}")
