"""POST /webhooks/replicate/: Standard Webhooks signatures, stored once, answered at once."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from standardwebhooks import Webhook

from generation import webhooks
from generation.models import Job, WebhookDelivery
from tests.fakes.replicate import SECRET

pytestmark = pytest.mark.django_db

PAYLOAD = {"id": "pred123", "status": "succeeded", "output": ["https://replicate.delivery/x/out.png"]}


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.REPLICATE_WEBHOOK_SECRET = SECRET


def signed(body: str, *, msg_id: str = "msg_1", when: datetime | None = None, secret: str = SECRET) -> dict:
    when = when or datetime.now(tz=UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, body),
    }


def post(client, body: str, headers: dict):
    return client.post(reverse("replicate_webhook"), body, content_type="application/json", headers=headers)


def test_it_accepts_a_signed_delivery_once(client, django_capture_on_commit_callbacks):
    body = json.dumps(PAYLOAD)
    with django_capture_on_commit_callbacks() as callbacks:
        first = post(client, body, signed(body))
    assert first.status_code == 202 and first.json() == {"received": True, "duplicate": False}
    assert len(callbacks) == 1  # the processing actor is enqueued after commit
    again = post(client, body, signed(body))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    delivery = WebhookDelivery.objects.get()
    assert (delivery.webhook_id, delivery.prediction_id, delivery.prediction_status) == (
        "msg_1",
        "pred123",
        "succeeded",
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda body, h: (body, {**h, "webhook-signature": "v1,bm90LXRoZS1zaWduYXR1cmU="}), "No valid signature"),
        (
            lambda body, h: (body, signed(body, secret="whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==")),
            "No valid signature",
        ),
        (lambda body, h: (body.replace("succeeded", "failed"), h), "No valid signature"),
        (lambda body, h: (body, signed(body, when=datetime.now(tz=UTC) - timedelta(minutes=6))), "more than 5 minutes"),
        (lambda body, h: (body, signed(body, when=datetime.now(tz=UTC) + timedelta(minutes=6))), "more than 5 minutes"),
        (lambda body, h: (body, {k: v for k, v in h.items() if k != "webhook-id"}), "Missing"),
        (lambda body, h: (body, {k: v for k, v in h.items() if k != "webhook-timestamp"}), "Missing"),
        (lambda body, h: (body, {k: v for k, v in h.items() if k != "webhook-signature"}), "Missing"),
        (lambda body, h: (body, {**h, "webhook-timestamp": "yesterday"}), "not a Unix time"),
        (lambda body, h: (body, {**h, "webhook-signature": "garbage"}), "No valid signature"),
        (lambda body, h: (body, {**h, "webhook-signature": "v1,@@@not-base64@@@"}), "No valid signature"),
    ],
    ids=[
        "bad-signature",
        "other-secret",
        "tampered-body",
        "stale",
        "future",
        "no-id",
        "no-timestamp",
        "no-signature",
        "bad-timestamp",
        "malformed-signature",
        "bad-base64",
    ],
)
def test_it_refuses_unsigned_or_altered_deliveries_and_writes_nothing(client, mutate, message):
    body = json.dumps(PAYLOAD)
    sent_body, headers = mutate(body, signed(body))
    response = post(client, sent_body, headers)
    assert response.status_code == 401
    assert message in response.json()["error"]
    assert not WebhookDelivery.objects.exists()
    assert not Job.objects.exists()


def test_it_refuses_a_signed_body_that_is_not_a_prediction(client):
    for body in ["not json", json.dumps(["list"]), json.dumps({"status": "succeeded"})]:
        response = post(client, body, signed(body, msg_id=f"m-{len(body)}"))
        assert response.status_code == 400, body
    assert not WebhookDelivery.objects.exists()


def test_it_answers_503_when_webhooks_are_not_configured(client, settings):
    settings.REPLICATE_WEBHOOK_SECRET = ""
    body = json.dumps(PAYLOAD)
    assert post(client, body, signed(body)).status_code == 503


def test_it_needs_no_csrf_token_but_only_accepts_post(client):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    body = json.dumps(PAYLOAD)
    assert post(csrf_client, body, signed(body)).status_code == 202
    assert client.get(reverse("replicate_webhook")).status_code == 405


def test_the_verifier_is_compatible_with_standard_webhooks():
    body = b'{"id": "p"}'
    now = datetime.now(tz=UTC)
    headers = signed(body.decode(), msg_id="abc", when=now)
    # Several signatures (key rotation): any valid one passes.
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"] + " v2,ignored"
    verified = webhooks.verify(secret=SECRET, headers=headers, body=body, now=now)
    assert verified.webhook_id == "abc"
