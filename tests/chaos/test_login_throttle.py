"""Guessing a password against a real Daphne: after AUTH_THROTTLE_PER_ACCOUNT failures the login page answers
429 with Retry-After before any password is checked, and the right password is refused too until it passes."""

import re
import time

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse

from tests.chaos.web import daphne

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

GUESSES = 50
PASSWORD = "the-right-one-42"


def test_fifty_wrong_passwords_lock_the_account_even_against_the_right_one():
    # Hashed the way Daphne's settings can check it (the test settings use MD5, which the server does not list),
    # with few iterations so the guesses before the lockout stay quick.
    hasher = PBKDF2PasswordHasher()
    victim = get_user_model().objects.create(
        username="vera", password=hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    )
    url = reverse("login")

    with daphne() as web:
        # Signing in rotates the CSRF token, so the guesser is another browser.
        before, guesser = web.browser(), web.browser()

        def attempt(password: str, browser: httpx.Client = guesser) -> httpx.Response:
            return browser.post(url, data={"username": victim.username, "password": password})

        assert attempt(PASSWORD, before).status_code == 302, "the right password works before the guessing"

        start = time.monotonic()
        answers = [attempt(f"guess-{n}") for n in range(GUESSES)]
        seconds = time.monotonic() - start
        statuses = [answer.status_code for answer in answers]
        refused = attempt(PASSWORD)

    allowed = settings.AUTH_THROTTLE_PER_ACCOUNT
    first_429 = statuses.index(429)
    print(
        f"\n{GUESSES} wrong passwords for one account in {seconds:.1f} s: {first_429} answered 200 (the form again),"
        f" then {statuses.count(429)} answered 429, Retry-After {answers[-1].headers['Retry-After']} s;"
        f" the right password after them: {refused.status_code}"
    )
    assert statuses == [200] * allowed + [429] * (GUESSES - allowed)
    assert all(1 <= int(a.headers["Retry-After"]) <= settings.AUTH_THROTTLE_MINUTES * 60 + 1 for a in answers[allowed:])
    assert "Too many attempts from here" in answers[-1].text
    assert refused.status_code == 429 and "sessionid" not in refused.cookies
    assert re.search(r"Try again in \d+ minutes?", refused.text)
