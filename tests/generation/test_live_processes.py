"""The production shape: a real `rundramatiq` worker on Redis and a real Daphne serving websockets."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from websockets.sync.client import connect

from generation import services
from tests.chaos.cluster import ROOT, free_port, wait_for_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def processes(tmp_path):
    db = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DRAMATIQ_NAMESPACE": os.environ.get("DRAMATIQ_NAMESPACE", "videopipe"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "SWEEPER_AUTOSTART": "0",
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    started = []
    for name, argv in [
        ("daphne", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "videopipe.asgi:application"]),
        ("worker", [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2"]),
    ]:
        out = (logs / f"{name}.log").open("w")
        started.append(
            subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        )
    wait_for_port(port)
    yield port, logs
    for process in started:
        os.killpg(process.pid, signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_real_worker_finishes_a_job_and_daphne_pushes_the_partial(processes, project, owner, pending_image, client):
    port, logs = processes
    client.force_login(owner)
    headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "Origin": f"http://127.0.0.1:{port}"}
    with connect(f"ws://127.0.0.1:{port}/ws/projects/{project.pk}/", additional_headers=headers, open_timeout=10) as ws:
        first = ws.recv(timeout=10)
        assert 'id="activity"' in first and "Nothing generated yet" in first
        job = services.job_create(
            project=project,
            user=owner,
            capability="image",
            input={"prompt": "Tokyo at dawn", "seed": 3},
            target=pending_image,
        )
        deadline = time.monotonic() + 60
        seen = ""
        while "Succeeded" not in seen and time.monotonic() < deadline:
            seen = ws.recv(timeout=max(1, deadline - time.monotonic()))
        worker_log = (logs / "worker.log").read_text()
        assert "Succeeded" in seen, f"no pushed success; worker said:\n{worker_log[-3000:]}"
        assert f'id="job-{job.pk}"' in seen
    pending_image.refresh_from_db()
    assert pending_image.status == "complete" and pending_image.image
