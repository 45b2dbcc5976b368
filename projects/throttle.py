"""Login and sign-up throttling: per account and per address, counted in the database so every web
process sees the same numbers and operators see them in the admin.

A throttled request is answered 429 with Retry-After before any password is hashed: each wrong
guess costs the server a full hash, so refusing early is what keeps a guessing run cheap for us.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from projects.models import AuthAttempt, AuthAttemptKind

KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta


def _limits(kind: str) -> dict[str, Limit]:
    window = timedelta(minutes=settings.AUTH_THROTTLE_MINUTES)
    if kind == AuthAttemptKind.LOGIN:
        return {
            "username": Limit(settings.AUTH_THROTTLE_PER_ACCOUNT, window),
            "address": Limit(settings.AUTH_THROTTLE_PER_ADDRESS, window),
        }
    return {"address": Limit(settings.AUTH_THROTTLE_SIGNUPS_PER_ADDRESS, timedelta(hours=1))}


def address_of(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def retry_after(*, kind: str, username: str, address: str | None) -> int:
    """Seconds until this account and address may try again; 0 when they may now."""
    now = timezone.now()
    wait = 0
    for field, limit in _limits(kind).items():
        value = username.strip().lower() if field == "username" else address
        if not value:
            continue
        recent = AuthAttempt.objects.filter(kind=kind, created_at__gte=now - limit.window, **{field: value})
        times = list(recent.order_by("-created_at").values_list("created_at", flat=True)[: limit.count])
        if len(times) >= limit.count:
            # Free again when the oldest of the last `count` attempts leaves the window.
            wait = max(wait, int((times[-1] + limit.window - now).total_seconds()) + 1)
    return wait


def attempt_record(*, kind: str, username: str, address: str | None) -> None:
    AuthAttempt.objects.create(kind=kind, username=username.strip().lower()[:150], address=address)
    AuthAttempt.objects.filter(created_at__lt=timezone.now() - KEEP).delete()


def attempts_clear(*, username: str) -> None:
    """A successful login forgets the account's failures (the address keeps its count)."""
    AuthAttempt.objects.filter(kind=AuthAttemptKind.LOGIN, username=username.strip().lower()).delete()
