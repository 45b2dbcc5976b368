"""One iteration of six variants against a fake Replicate that takes D seconds per prediction.

The six predictions run in parallel, so the iteration should take about D, not
6·D. Prints D, the wall time from "Generate" to six stored images, and last
`ratio=<wall/D>` (target: at most 2).

    .venv/bin/python benchmarks/variants.py [D]
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="videopipe-bench-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "videopipe.settings",
        "SQLITE_PATH": str(WORK / "bench.sqlite3"),
        "MEDIA_ROOT": str(WORK / "media"),
        "LOG_LEVEL": "WARNING",
        "SWEEPER_AUTOSTART": "0",
        "JOB_POLL_SECONDS": "1",
        "EMBEDDED_WORKER_THREADS": "8",
    }
)
for name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from projects import services  # noqa: E402
from projects.models import GenerationStatus, ShotImage  # noqa: E402
from tests.fakes.replicate import FakeReplicate  # noqa: E402
from videopipe.broker import start_embedded_worker  # noqa: E402


def main(delay: float) -> None:
    call_command("migrate", verbosity=0)
    fake = FakeReplicate()
    fake.switches.delay = delay / 2  # the fake waits twice: before processing and before completing
    settings.REPLICATE_API_TOKEN = "test-token"
    settings.REPLICATE_BASE_URL = fake.url
    settings.INGEST_ALLOW_INSECURE_LOCAL = True
    settings.INGEST_ALLOWED_HOSTS = ["127.0.0.1"]
    worker = start_embedded_worker()
    user = get_user_model().objects.create_user("bench", password="bench-pass-123")
    team = services.team_create(name="Bench", owner=user)
    project = services.project_create(team=team, user=user, title="Bench", prompt="Tokyo at dawn")
    scene = services.scene_create_with_shots(project=project, title="One", shots=[services.ShotSpec("Wide", "Tokyo")])
    shot = scene.shots.get()

    started = time.perf_counter()
    services.shot_generate(shot=shot, user=user)
    while ShotImage.objects.filter(shot=shot, status=GenerationStatus.COMPLETE).count() < 6:
        if ShotImage.objects.filter(shot=shot, status=GenerationStatus.FAILED).exists():
            raise SystemExit("a variant failed; see the job ledger")
        if time.perf_counter() - started > 20 * delay + 30:
            raise SystemExit("timed out")
        time.sleep(0.02)
    wall = time.perf_counter() - started
    worker.stop()
    fake.close()
    print(f"D={delay:.2f}s (fake Replicate time per prediction, 6 predictions)")
    print(f"wall={wall:.2f}s (Generate to six stored images, polling every {settings.JOB_POLL_SECONDS}s)")
    print(f"serial would be about {6 * delay:.2f}s")
    print(f"ratio={wall / delay:.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0)
