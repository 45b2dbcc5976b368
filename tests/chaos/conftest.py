"""Chaos tests: real Daphne, real `rundramatiq` workers, a Redis of their own, PostgreSQL, the fake Replicate.

They run in the services CI run only (PostgreSQL and Redis); each prints its figures (`pytest -s` shows them).
Each module marks itself `services` and transactional: pytest-django orders transactional tests last by
their marks at collection, and a transactional test run early would flush the data the others rely on.
"""

import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.chaos.cluster import Cluster, browser
from tests.fakes.replicate import FakeReplicate

# Thousands of requests: one log line each would bury the figures.
logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture
def fake() -> Iterator[FakeReplicate]:
    fake = FakeReplicate()
    yield fake
    fake.close()


@pytest.fixture
def cluster(tmp_path, fake) -> Iterator[Cluster]:
    """Start it with `cluster.start()` once the test has set its switches; everything stops at the end."""
    made = Cluster(tmp=tmp_path, fake_url=fake.url)
    yield made
    made.stop()


def browser_for(cluster: Cluster, user: object) -> httpx.Client:
    """A logged-in user's HTMX requests to the cluster's Daphne."""
    return browser(cluster.web_url, user, {"HX-Request": "true"})
