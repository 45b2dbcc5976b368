"""Nothing lost, nothing paid twice: workers killed at three points, one frozen past its lease, Redis lost empty,
webhooks duplicated and reordered, against real processes. Each phase prints how long recovery took."""

import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from generation.models import ACTIVE, Job, JobStatus, WebhookDelivery
from generation.orphans import files_sweep_orphans
from projects import services as project_services
from projects.models import ShotImage
from tests.chaos.cluster import Cluster
from tests.chaos.conftest import browser_for
from tests.fakes.replicate import FakeReplicate

BOUND_SECONDS = 60  # the chaos env's timings are production's (75 s lease, 20 s sweep, 45 s quiet) shrunk ~12x
pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

figures: list[tuple[str, str, str]] = []


def wait(predicate, timeout: float, what: str, cluster: Cluster) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    states = Counter(Job.objects.values_list("status", flat=True))
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}; jobs {dict(states)}\n{cluster.logs_tail()}")


def all_terminal() -> bool:
    return Job.objects.exists() and not Job.objects.filter(status__in=ACTIVE).exists()


def generate(cluster: Cluster, browser, shot) -> None:
    answer = browser.post(f"/projects/{shot.project_id}/iterate/{shot.pk}/generate/")
    assert answer.status_code == 200, answer.text[:500]


def billed(fake: FakeReplicate) -> list[str]:
    """Predictions that ran to the end: what Replicate bills."""
    return [p.id for p in fake.predictions.values() if p.status == "succeeded"]


def media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def check_ledger(fake: FakeReplicate, shots: list) -> None:
    """One succeeded prediction per job, one image and thumbnail per variant, every delivery processed."""
    jobs = list(Job.objects.filter(capability="image"))
    assert {job.status for job in jobs} == {JobStatus.SUCCEEDED}, Counter(job.status for job in jobs)
    ours = Counter(job.prediction_id for job in jobs)
    assert all(count == 1 for count in ours.values()), "two jobs share a prediction"
    paid = billed(fake)
    assert sorted(paid) == sorted(ours), f"{len(paid)} predictions billed for {len(jobs)} jobs"
    images = ShotImage.objects.filter(shot__in=shots)
    assert images.count() == len(jobs) and all(image.image and image.thumbnail for image in images)
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists(), "a delivery was never processed"


def lock_rows(shot) -> psycopg.Connection:
    """Hold the variants' rows as another transaction would: a worker finishing them blocks after writing files."""
    db = connection.settings_dict
    conn = psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"])
    conn.execute("SELECT id FROM projects_shotimage WHERE shot_id = %s FOR UPDATE", [shot.pk])
    return conn


def blocked_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def shots(project):
    scene = project_services.scene_create_with_shots(
        project=project,
        title="Opening",
        shots=[project_services.ShotSpec(f"Shot {n}", f"Tokyo Tower at dawn, take {n}") for n in range(1, 7)],
    )
    return list(scene.shots.order_by("pk"))


def test_workers_killed_at_three_points_frozen_and_duplicated_webhooks_lose_nothing_and_pay_once(
    cluster, fake, shots, owner
):
    fake.switches.delay = 0.3
    cluster.start()
    browser = browser_for(cluster, owner)

    # 1. After create: Replicate made the predictions, the workers die before hearing back.
    fake.switches.create_answer_hold = 30.0
    generate(cluster, browser, shots[0])
    wait(lambda: len(fake.predictions) >= 4, 30, "four creates in flight", cluster)
    for name in ("worker1", "worker2"):
        cluster.procs[name].kill()
    fake.switches.create_answer_hold = 0.0
    killed = time.monotonic()
    for name in ("worker1", "worker2"):
        cluster.procs[name].start()
    took = wait(all_terminal, BOUND_SECONDS, "jobs killed after create", cluster)
    figures.append(("SIGKILL after create (both workers)", f"{len(fake.predictions)} predictions", f"{took:.1f} s"))
    assert time.monotonic() - killed < BOUND_SECONDS

    # 2. During ingest: the output download stalls and the workers die mid-download.
    fake.switches.download_delay = 30.0
    generate(cluster, browser, shots[1])
    wait(lambda: fake.downloads_started >= 1, 30, "a download in flight", cluster)
    for name in ("worker1", "worker2"):
        cluster.procs[name].kill()
    fake.switches.download_delay = 0.0
    for name in ("worker1", "worker2"):
        cluster.procs[name].start()
    took = wait(all_terminal, BOUND_SECONDS, "jobs killed during ingest", cluster)
    figures.append(("SIGKILL during ingest (both workers)", f"{fake.downloads_started} downloads", f"{took:.1f} s"))

    # 3. Before commit: files written, the transaction waiting, the workers die.
    before = media_files()
    fake.switches.delay = 2.0
    generate(cluster, browser, shots[2])
    # Lock only once every job is processing: earlier, the progress updates would block instead of the finish.
    wait(lambda: Job.objects.filter(status=JobStatus.PROCESSING).count() == 6, 30, "jobs processing", cluster)
    holder = lock_rows(shots[2])
    wait(lambda: blocked_backends() >= 1 and media_files() - before, 30, "a finish blocked after its write", cluster)
    time.sleep(0.5)
    written = media_files() - before
    for name in ("worker1", "worker2"):
        cluster.procs[name].kill()
    holder.rollback()
    holder.close()
    fake.switches.delay = 0.3
    for name in ("worker1", "worker2"):
        cluster.procs[name].start()
    took = wait(all_terminal, BOUND_SECONDS, "jobs killed before commit", cluster)
    orphans = written - {n for i in ShotImage.objects.all() for n in (i.image.name, i.thumbnail.name)}
    assert orphans, "the kill left files whose row never committed"
    report = files_sweep_orphans(older_than=timedelta(0))
    assert not orphans & media_files(), f"orphans left: {orphans & media_files()}"
    figures.append(
        ("SIGKILL before commit (both workers)", f"{len(orphans)} orphan files, swept: {report}", f"{took:.1f} s")
    )

    # 4. One worker frozen (SIGSTOP) mid-create past its lease; the other carries on; then it wakes.
    fake.switches.create_answer_hold = 2.0
    generate(cluster, browser, shots[3])
    time.sleep(0.5)
    cluster.procs["worker1"].signal(signal.SIGSTOP)
    fake.switches.create_answer_hold = 0.0
    took = wait(all_terminal, BOUND_SECONDS, "jobs with worker1 frozen", cluster)
    cluster.procs["worker1"].signal(signal.SIGCONT)
    time.sleep(3)  # its late answers arrive: they must change nothing
    figures.append(("SIGSTOP one worker past its lease", "", f"{took:.1f} s"))

    # 5. Webhooks delivered three times at once, "start" after "completed".
    fake.switches.completed_copies = 3
    fake.switches.reorder = True
    generate(cluster, browser, shots[4])
    took = wait(all_terminal, BOUND_SECONDS, "jobs with duplicated, reordered webhooks", cluster)
    wait(lambda: not WebhookDelivery.objects.filter(processed_at__isnull=True).exists(), 30, "deliveries", cluster)
    figures.append(("webhooks x3 and reordered", f"{WebhookDelivery.objects.count()} deliveries", f"{took:.1f} s"))

    check_ledger(fake, shots[:5])
    leftover = media_files() - {n for i in ShotImage.objects.all() for n in (i.image.name, i.thumbnail.name)}
    assert not leftover, f"files no row references: {leftover}"
    print_figures()


def test_redis_lost_empty_and_polling_workers_recover_every_job(cluster, fake, shots, owner):
    cluster.webhooks = False
    fake.switches.delay = 0.3
    cluster.start()
    browser = browser_for(cluster, owner)

    # Queued messages and delayed polls vanish with Redis; the workers come back to an empty broker.
    for name in ("worker1", "worker2"):
        cluster.procs[name].signal(signal.SIGSTOP)
    generate(cluster, browser, shots[0])
    generate(cluster, browser, shots[1])
    cluster.restart_redis_empty()
    lost = time.monotonic()
    for name in ("worker1", "worker2"):
        cluster.procs[name].signal(signal.SIGCONT)
    took = wait(all_terminal, BOUND_SECONDS, "jobs after Redis came back empty", cluster)
    figures.append(("Redis restarted empty (12 queued)", "", f"{took:.1f} s"))
    assert time.monotonic() - lost < BOUND_SECONDS

    # Polling mode, killed after create: the prediction is found in the paged list and adopted.
    fake.switches.list_page_size = 2
    fake.switches.create_answer_hold = 30.0
    generate(cluster, browser, shots[2])
    wait(lambda: len(fake.predictions) >= 16, 30, "four creates in flight", cluster)
    for name in ("worker1", "worker2"):
        cluster.procs[name].kill()
    fake.switches.create_answer_hold = 0.0
    for name in ("worker1", "worker2"):
        cluster.procs[name].start()
    took = wait(all_terminal, BOUND_SECONDS, "polling jobs killed after create", cluster)
    figures.append(("SIGKILL after create, polling, 2 a page", f"{len(fake.listings)} list calls", f"{took:.1f} s"))

    check_ledger(fake, shots[:3])
    print_figures()


def print_figures() -> None:
    print("\n| fault | detail | all jobs terminal after |\n|---|---|---|")
    for row in figures:
        print("| " + " | ".join(row) + " |")
    figures.clear()
