"""Shared fixtures: the personas (owner, teammate, viewer, outsider), project builders, the broker.

Tests marked `services` need PostgreSQL and Redis. On the embedded defaults
they are skipped; with VIDEOPIPE_REQUIRE_SERVICES=1 (CI's second run) a
missing service fails them instead, so nothing is silently skipped there.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from dramatiq.brokers.stub import StubBroker

from projects import services
from projects.models import Role, Team, VideoProject

# Playwright's sync API runs an event loop in the test thread; Django's ORM is
# still used synchronously from that same thread in browser tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-9"

# Fixtures for the generation engine's fakes and real media clips, shared by every stage's tests.
pytest_plugins = ["tests.fixtures_generation", "tests.fixtures_media", "tests.fixtures_s3"]


def services_available() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and bool(settings.REDIS_URL)


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections(django_db_setup, django_db_blocker):
    """Worker threads and subprocesses may leave sessions behind; drop them so the test database can be dropped."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A hook, not a fixture: it skips before any fixture runs, so a skipped transactional test never
    # flushes the database (and with it the model registry the migrations loaded) for the tests after it.
    if item.get_closest_marker("services") and not services_available():
        if os.environ.get("VIDEOPIPE_REQUIRE_SERVICES") == "1":
            pytest.fail("This run requires PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); they are not set.")
        pytest.skip("needs DATABASE_URL (PostgreSQL) and REDIS_URL")


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The periodic ticker would sweep behind the tests' backs; the tests that want it start it.
    settings.SWEEPER_AUTOSTART = False
    # Tests run their own workers; importing the ASGI app must not start another one.
    settings.EMBEDDED_WORKER = False


@pytest.fixture(autouse=True)
def _model_registry(request: pytest.FixtureRequest) -> None:
    # Transactional tests empty every table afterwards, including the registry the migration loaded.
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker and marker.kwargs.get("transaction")) or {"transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if transactional:
        from generation.defaults import seed
        from generation.models import AIModel

        request.getfixturevalue("transactional_db")
        if not AIModel.objects.exists():
            seed(AIModel)


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    def make(username: str, **extra: object) -> object:
        return get_user_model().objects.create_user(
            username=username, email=f"{username}@example.com", password=PASSWORD, **extra
        )

    return make


@pytest.fixture
def owner(make_user):
    return make_user("olivia")


@pytest.fixture
def team(owner) -> Team:
    return services.team_create(name="Olivia's studio", owner=owner)


@pytest.fixture
def teammate(make_user, team):
    user = make_user("eddie")
    services.membership_add(team=team, identifier="eddie", role=Role.EDITOR)
    return user


@pytest.fixture
def viewer(make_user, team):
    user = make_user("vera")
    services.membership_add(team=team, identifier="vera", role=Role.VIEWER)
    return user


@pytest.fixture
def outsider(make_user):
    user = make_user("oscar")
    services.team_create(name="Oscar's agency", owner=user)
    return user


@pytest.fixture
def project(team, owner) -> VideoProject:
    return services.project_create(
        team=team, user=owner, title="Tokyo Dreams", prompt="A cinematic journey through Tokyo"
    )


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client, owner) -> Client:
    return login(client, owner)


def _reset(broker: dramatiq.Broker) -> None:
    broker.flush_all()
    # A stopped stub worker drops the messages it had prefetched without marking them done (the stub
    # consumer's requeue does nothing), so a later broker.join() on that queue would wait forever.
    if not isinstance(broker, StubBroker):
        return
    for queue in broker.queues.values():
        with queue.all_tasks_done:
            queue.unfinished_tasks = 0
            queue.all_tasks_done.notify_all()


@pytest.fixture
def broker() -> Iterator[dramatiq.Broker]:
    broker = dramatiq.get_broker()
    _reset(broker)
    yield broker
    _reset(broker)


@pytest.fixture
def worker(broker) -> Iterator[dramatiq.Worker]:
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Debian's Chromium: Playwright's own browser download is not available here.
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
