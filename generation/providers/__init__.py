"""Provider implementations behind one small interface per call (see base.py).

for_job() picks the implementation for a Job row: the API provider named in
the job (Replicate or OpenAI), or the offline one that makes real media here.
"""

from generation.providers.base import Provider, ProviderError, TransientError

__all__ = ["Provider", "ProviderError", "TransientError", "for_provider"]


def for_provider(name: str) -> Provider:
    from generation.providers import registry  # noqa: PLC0415

    return registry.provider_instance(name)
