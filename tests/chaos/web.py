"""One real Daphne for a chaos test: started on a free port with the test database, measured, stopped.

    with daphne({"UPLOAD_MAX_PIXELS": "1000000"}) as web:
        web.browser(user).get("/")
        print(web.peak_rss_mb())

It serves `videopipe.asgi:application` on the test PostgreSQL database and Redis, with no worker of its own
(Redis set, so the embedded worker is off) and no sweeper; env_overrides is added last.
"""

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings

from tests.chaos.cluster import ROOT, browser, database_url, free_port, group_pids, rss_mb, wait_for_port


@dataclass
class Web:
    port: int
    pid: int
    url: str
    log: Path

    def peak_rss_mb(self) -> float:
        """The peak resident memory (VmHWM) of Daphne, summed with any process it started, in MB."""
        return sum(rss_mb(pid) for pid in group_pids(self.pid))

    def rss_mb(self) -> float:
        """The resident memory now (VmRSS), summed the same way, in MB."""
        return sum(rss_mb(pid, "VmRSS") for pid in group_pids(self.pid))

    def browser(self, user: object | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        """An httpx client for this server, with a CSRF token as a browser has one, logged in as user if given."""
        return browser(self.url, user, headers)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def environment(env_overrides: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIDEOPIPE_TEST_RUN"}},
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DRAMATIQ_NAMESPACE": os.environ.get("DRAMATIQ_NAMESPACE", "videopipe"),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "SWEEPER_AUTOSTART": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.update(env_overrides or {})
    return env


@contextmanager
def daphne(env_overrides: dict[str, str] | None = None, *, log_dir: Path | None = None) -> Iterator[Web]:
    """A Daphne listening on a free port; stopped (its whole session) when the block ends."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="daphne-", dir=log_dir)) / "daphne.log"
    argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "videopipe.asgi:application"]
    with log.open("w") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=environment(env_overrides), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        try:
            wait_for_port(port)
        except AssertionError as error:
            raise AssertionError(f"{error}; Daphne said:\n{log.read_text(errors='replace')[-3000:]}") from error
        yield Web(port=port, pid=process.pid, url=f"http://127.0.0.1:{port}", log=log)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
