"""Live status over websockets: membership checked on connect, partials pushed on every job change."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from generation import live, services
from generation.models import JobStatus
from videopipe.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

IMAGE = {"prompt": "Tokyo at dawn", "seed": 1}


def async_to_sync(function):
    """Run an async test body in its own thread: Playwright's sync API may own this thread's event loop."""

    def run(*args, **kwargs):
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, function(*args, **kwargs)).result()

    return run


def connect(project_id: int, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/projects/{project_id}/")
    communicator.scope["user"] = user
    return communicator


def test_it_refuses_outsiders_and_anonymous_users(project, outsider):
    async def attempt(user) -> bool:
        communicator = connect(project.pk, user)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(attempt)(outsider) is False
    assert async_to_sync(attempt)(AnonymousUser()) is False
    assert async_to_sync(attempt)(outsider) is False


def test_a_member_gets_the_current_state_then_every_change(project, owner, viewer):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)

    async def session() -> tuple[str, str]:
        communicator = connect(project.pk, viewer)
        connected, _ = await communicator.connect()
        assert connected
        first = await communicator.receive_from(timeout=5)
        await database_sync_to_async(services.job_fail)(job=job, error="The provider reported a failure: boom")
        pushed = await communicator.receive_from(timeout=5)
        await communicator.disconnect()
        return first, pushed

    first, pushed = async_to_sync(session)()
    assert 'id="activity"' in first and 'hx-swap-oob="true"' in first and "Queued" in first
    assert f'id="job-{job.pk}"' in pushed and "Failed" in pushed and "boom" in pushed


def test_progress_pushes_are_throttled(project, owner, settings):
    settings.LIVE_PROGRESS_THROTTLE_SECONDS = 60
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)

    async def session() -> int:
        communicator = connect(project.pk, owner)
        await communicator.connect()
        await communicator.receive_from(timeout=5)
        for _ in range(5):
            await database_sync_to_async(
                lambda: type(job).objects.filter(pk=job.pk).update(status=JobStatus.PROCESSING)
            )()
            await database_sync_to_async(live.job_changed)(job.pk)
        received = 0
        while not await communicator.receive_nothing(timeout=0.3):
            await communicator.receive_from()
            received += 1
        await communicator.disconnect()
        return received

    assert async_to_sync(session)() == 1


def test_the_asgi_app_authenticates_by_session_and_checks_the_origin(project, owner, client):
    from videopipe.asgi import application

    client.force_login(owner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def attempt(origin: bytes, with_cookie: bool = True) -> bool:
        headers = [(b"origin", origin), (b"host", b"testserver")] + ([(b"cookie", cookie)] if with_cookie else [])
        communicator = WebsocketCommunicator(application, f"/ws/projects/{project.pk}/", headers=headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(attempt)(b"http://testserver") is True
    assert async_to_sync(attempt)(b"http://evil.example") is False
    assert async_to_sync(attempt)(b"http://testserver", with_cookie=False) is False


def test_a_removed_member_stops_receiving_pushes(project, owner, teammate):
    from projects.models import Membership

    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE)

    async def session() -> bool:
        communicator = connect(project.pk, teammate)
        connected, _ = await communicator.connect()
        assert connected
        await communicator.receive_from(timeout=5)
        await database_sync_to_async(lambda: Membership.objects.filter(user=teammate).delete())()
        await database_sync_to_async(services.job_fail)(job=job, error="boom")
        output = await communicator.receive_output(timeout=5)
        return output["type"] == "websocket.close"

    assert async_to_sync(session)() is True


def test_a_page_gets_only_the_fragments_it_shows(project, owner, pending_image):
    job = services.job_create(project=project, user=owner, capability="image", input=IMAGE, target=pending_image)

    async def session() -> tuple[bool, str]:
        communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/projects/{project.pk}/?parts=tile-*"
        )
        communicator.scope["user"] = owner
        connected, _ = await communicator.connect()
        assert connected
        quiet_at_connect = await communicator.receive_nothing(timeout=0.3)  # no activity panel on this page
        await database_sync_to_async(services.job_fail)(job=job, error="boom")
        pushed = await communicator.receive_from(timeout=5)
        await communicator.disconnect()
        return quiet_at_connect, pushed

    quiet, pushed = async_to_sync(session)()
    assert quiet is True
    assert f'id="tile-{pending_image.pk}"' in pushed and 'id="activity"' not in pushed and "boom" in pushed
