import time
from collections.abc import Callable, Iterator

import pytest

from generation.providers.registry import provider_instance
from projects import services as project_services
from projects.models import ShotImage
from tests.fakes.openai import FakeOpenAI
from tests.fakes.replicate import SECRET, FakeReplicate


def wait_for(predicate: Callable[[], object], timeout: float = 20, message: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout} s waiting for {message}")


@pytest.fixture(autouse=True)
def _fresh_providers() -> Iterator[None]:
    # Provider instances read settings when built; each test gets its own.
    provider_instance.cache_clear()
    yield
    provider_instance.cache_clear()


@pytest.fixture
def fast_jobs(settings) -> None:
    settings.JOB_BACKOFF_SECONDS = 0
    settings.JOB_POLL_SECONDS = 1
    settings.LIVE_PROGRESS_THROTTLE_SECONDS = 0


@pytest.fixture
def fake_replicate(settings, fast_jobs) -> Iterator[FakeReplicate]:
    fake = FakeReplicate()
    settings.REPLICATE_API_TOKEN = "test-token"
    settings.REPLICATE_BASE_URL = fake.url
    settings.REPLICATE_WEBHOOK_SECRET = SECRET
    settings.PUBLIC_BASE_URL = ""
    # The fake serves its outputs on loopback over http; production allows only https on replicate.delivery.
    settings.INGEST_ALLOW_INSECURE_LOCAL = True
    settings.INGEST_ALLOWED_HOSTS = ["127.0.0.1"]
    yield fake
    fake.close()


@pytest.fixture
def fake_openai(settings, fast_jobs) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = fake.url
    yield fake
    fake.close()


@pytest.fixture
def pending_image(project) -> ShotImage:
    scene = project_services.scene_create_with_shots(
        project=project, title="Opening", shots=[project_services.ShotSpec("Wide", "Tokyo Tower at dawn")]
    )
    return project_services.shot_images_create_batch(
        shot=scene.shots.get(), iteration_prompt="Tokyo Tower at dawn", count=1
    )[0]
