"""Live status of sound jobs and compiles, pushed as the pages' own partials over a websocket."""

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from editor import live_fragments, services
from generation.services import job_run
from tests.editor.conftest import approved_segments
from tests.generation.test_live import async_to_sync
from videopipe.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def _listen(project_id: int, user, parts: str, action) -> list[str]:
    async def session() -> list[str]:
        communicator = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/projects/{project_id}/?parts={parts}"
        )
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(action)()
        received = []
        while not await communicator.receive_nothing(timeout=0.5):
            received.append(await communicator.receive_from())
        await communicator.disconnect()
        return received

    return async_to_sync(session)()


def test_it_pushes_a_finished_voiceover_into_its_scene_row(project, owner, raw_clips):
    approved_segments(project, raw_clips)
    (voice,) = services.voiceovers_request(project=project, user=owner, scenes=[project.scenes.first()])
    pushed = _listen(project.pk, owner, "voice-*", lambda: job_run(job_id=voice.job_id))
    last = pushed[-1]
    assert f'id="voice-{voice.scene_id}"' in last and 'hx-swap-oob="true"' in last and "<audio" in last


def test_it_pushes_compile_progress_until_the_final_video(project, owner, raw_clips):
    segments = approved_segments(project, raw_clips)
    job = services.compile_request(
        project=project,
        user=owner,
        segment_ids=[segments[0].pk],
        transitions=[],
        aspect_ratio="16:9",
        captions_mode="off",
    )
    pushed = _listen(
        project.pk,
        owner,
        "compile-status",
        lambda: services.compile_run(job_id=job.pk, on_change=live_fragments.compile_changed),
    )
    assert len(pushed) >= 4, "start, steps and the end"
    assert all('id="compile-status"' in html for html in pushed)
    assert any('role="progressbar"' in html for html in pushed)
    assert "Open “Tokyo Dreams · 16:9 · cut 1”" in pushed[-1]
