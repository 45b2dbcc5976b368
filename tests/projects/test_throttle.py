"""Login and sign-up throttling: per account and per address, 429 with Retry-After before any hashing."""

import pytest
from django.contrib.auth import authenticate as real_auth
from django.urls import reverse

from projects.models import AuthAttempt
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username, password, address="203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_account_and_the_right_one_waits_too(client, owner, settings, monkeypatch):
    settings.AUTH_THROTTLE_PER_ACCOUNT = 5
    for _ in range(5):
        assert _login(client, "olivia", "wrong").status_code == 200
    hashed = []
    monkeypatch.setattr(
        "django.contrib.auth.forms.authenticate", lambda *a, **k: hashed.append(1) or real_auth(*a, **k)
    )
    refused = _login(client, "Olivia", PASSWORD)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 15 * 60 + 1
    assert "Too many attempts from here. Try again in 15 minutes." in refused.content.decode()
    assert not hashed, "refused before any password was hashed"
    _login(client, "nobody", "wrong", address="192.0.2.1")
    assert hashed == [1], "the spy sees a login that is not throttled"
    # Another address guessing the same account is refused as well: the limit is the account's.
    assert _login(client, "olivia", PASSWORD, address="198.51.100.9").status_code == 429
    assert AuthAttempt.objects.filter(kind="login", username="olivia").count() == 5


def test_one_address_guessing_many_accounts_is_slowed_down(client, make_user, settings):
    settings.AUTH_THROTTLE_PER_ADDRESS = 6
    for n in range(6):
        _login(client, f"user{n}", "wrong")
    assert _login(client, "someone-else", "wrong").status_code == 429
    assert _login(client, "someone-else", "wrong", address="198.51.100.9").status_code == 200


def test_a_good_login_clears_the_accounts_failures(client, owner, settings):
    settings.AUTH_THROTTLE_PER_ACCOUNT = 3
    for _ in range(2):
        _login(client, "olivia", "wrong")
    assert _login(client, "olivia", PASSWORD).status_code == 302
    assert not AuthAttempt.objects.filter(username="olivia").exists()


def test_sign_ups_are_limited_per_address(client, settings):
    settings.AUTH_THROTTLE_SIGNUPS_PER_ADDRESS = 2
    for n in range(2):
        client.post(
            reverse("signup"),
            {"username": f"new{n}", "email": f"new{n}@example.com", "password1": PASSWORD, "password2": PASSWORD},
            REMOTE_ADDR="203.0.113.8",
        )
        client.logout()
    refused = client.post(
        reverse("signup"),
        {"username": "new9", "email": "new9@example.com", "password1": PASSWORD, "password2": PASSWORD},
        REMOTE_ADDR="203.0.113.8",
    )
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "Too many attempts from here" in refused.content.decode()


def test_operators_see_the_attempts_in_the_admin(client, make_user):
    _login(client, "olivia", "wrong")
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:projects_authattempt_changelist")).content.decode()
    assert "olivia" in page and "203.0.113.7" in page
