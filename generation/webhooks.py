"""Standard Webhooks verification (webhook-id, webhook-timestamp, webhook-signature), in constant time."""

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TOLERANCE = timedelta(minutes=5)


class SignatureError(Exception):
    pass


@dataclass(frozen=True)
class Verified:
    webhook_id: str
    timestamp: datetime


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("The webhook secret is not valid base64.") from exc


def verify(*, secret: str, headers: dict[str, str], body: bytes, now: datetime | None = None) -> Verified:
    """Check the delivery is signed with secret and recent; raise SignatureError saying why not."""
    webhook_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (webhook_id and stamp and signatures):
        raise SignatureError("Missing webhook-id, webhook-timestamp or webhook-signature header.")
    try:
        timestamp = datetime.fromtimestamp(int(stamp), tz=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureError("The webhook-timestamp header is not a Unix time.") from exc
    now = now or datetime.now(tz=UTC)
    if abs(now - timestamp) > TOLERANCE:
        raise SignatureError("The webhook timestamp is more than 5 minutes from now.")
    expected = hmac.new(_key(secret), f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    matched = False
    for candidate in signatures.split():
        version, _, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Keep comparing after a match so timing does not tell which signature matched.
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise SignatureError("No valid signature.")
    return Verified(webhook_id=webhook_id[:200], timestamp=timestamp)
