"""50 users on the dashboard and a project page for 30 s against one Daphne on pooled connections: no errors."""

import os
import statistics
import threading
import time

import pytest
from django.db import connection

from projects import services
from projects.models import Role
from tests.chaos.conftest import browser_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

USERS = 50
SECONDS = float(os.environ.get("CHAOS_LOAD_SECONDS", "30"))


def connections_now() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'chaos-web'")
        return cursor.fetchone()[0]


def test_fifty_users_for_thirty_seconds_get_no_errors_and_the_pool_holds(cluster, make_user, team, project):
    cluster.workers = 0
    cluster.extra_env["DB_POOL_MAX_SIZE"] = "10"
    cluster.start()
    browsers = []
    for n in range(USERS):
        user = make_user(f"load{n}")
        services.membership_add(team=team, identifier=user.username, role=Role.EDITOR)
        browsers.append(browser_for(cluster, user))
    pages = ["/", f"/projects/{project.pk}/"]
    for page in pages:  # warm: templates compiled, the pool filled
        assert browsers[0].get(page).status_code == 200

    latencies: list[float] = []
    errors: list[str] = []
    peak_connections = [connections_now()]
    stop = time.monotonic() + SECONDS
    lock = threading.Lock()

    def user(browser, offset: int) -> None:
        n = offset
        while time.monotonic() < stop:
            page = pages[n % 2]
            n += 1
            start = time.monotonic()
            try:
                status = browser.get(page, headers={"HX-Request": ""}).status_code
            except Exception as error:  # a refused or dropped connection is an error too
                status = f"{type(error).__name__}: {error}"
            with lock:
                latencies.append(time.monotonic() - start)
                if status != 200:
                    errors.append(f"{page}: {status}")

    threads = [threading.Thread(target=user, args=(b, i)) for i, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak_connections.append(connections_now())
        time.sleep(0.5)
    web_peak = cluster.peak_rss_mb("web")

    latencies.sort()
    print(
        f"\n| users | seconds | requests | errors | req/s | median | p95 | max | web's PostgreSQL connections (peak) | "
        f"web peak RSS |\n|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {USERS} | {SECONDS:.0f} | {len(latencies)} | {len(errors)} | {len(latencies) / SECONDS:.1f} | "
        f"{statistics.median(latencies) * 1000:.0f} ms | {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms | "
        f"{latencies[-1] * 1000:.0f} ms | {max(peak_connections)} | {web_peak:.0f} MB |"
    )
    assert not errors, f"{len(errors)} errors, first: {errors[:5]}"
    assert len(latencies) >= USERS, "every user got answers"
    # The web process never holds more than its pool's bound, however many users wait.
    assert 1 <= max(peak_connections) <= 10
