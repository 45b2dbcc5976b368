"""Real processes for the chaos tests: a Redis of our own (so it can die and come back empty), Daphne and
`rundramatiq` workers, all on the test PostgreSQL database, against the fake Replicate over HTTP.

Each process runs in its own session, so a SIGKILL of its group takes the whole `rundramatiq` tree with it,
as a machine losing power would.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.fakes.replicate import SECRET

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database, for processes started outside this one."""
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def browser(base_url: str, user: object | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
    """An HTTP client with a CSRF token as a browser has one, logged in as user if given."""
    token = secrets.token_hex(16)  # 32 characters: Django accepts the unmasked secret in the header
    cookies = {"csrftoken": token}
    if user is not None:
        client = Client()
        client.force_login(user)
        cookies["sessionid"] = client.cookies["sessionid"].value
    return httpx.Client(
        base_url=base_url, cookies=cookies, headers={"X-CSRFToken": token, **(headers or {})}, timeout=60
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"Nothing listened on {port}")


def group_pids(leader: int) -> list[int]:
    """Every live process in leader's session (rundramatiq forks its workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Fields after the command's closing parenthesis: state ppid pgrp session ...
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == leader:
                pids.append(int(entry.name))
    return pids


def rss_mb(pid: int, key: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of one process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> "Proc":
        out = self.log.open("a")
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)

    def stop(self) -> None:
        if not self.alive:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class Cluster:
    """Redis, one Daphne and N workers; `env` is what every Django process gets."""

    tmp: Path
    fake_url: str
    webhooks: bool = True
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.redis_port = free_port()
        self.web_port = free_port()
        self.logs = self.tmp / "logs"
        self.logs.mkdir(exist_ok=True)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict[str, str]:
        env = {
            **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "VIDEOPIPE_TEST_RUN"}},
            "DATABASE_URL": database_url(),
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DRAMATIQ_NAMESPACE": "chaos",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "SECRET_KEY": settings.SECRET_KEY,
            "LOG_LEVEL": "WARNING",
            "REPLICATE_API_TOKEN": "test-token",
            "REPLICATE_BASE_URL": self.fake_url,
            "REPLICATE_WEBHOOK_SECRET": SECRET,
            "PROVIDER_IMAGE": "replicate",
            "INGEST_ALLOWED_HOSTS": "127.0.0.1",
            "INGEST_ALLOW_INSECURE_LOCAL": "1",
            # Timings shrunk so the bound can be checked in seconds; their ratios are production's.
            "SWEEPER_AUTOSTART": "1",
            "PERIODIC_TICK_SECONDS": "1",
            "SWEEP_INTERVAL_SECONDS": "2",
            "SWEEP_QUIET_SECONDS": "4",
            "JOB_SUBMIT_LEASE_SECONDS": "6",
            "JOB_POLL_SECONDS": "1",
            "JOB_BACKOFF_SECONDS": "1",
            "DB_POOL_MAX_SIZE": "6",
        }
        if self.webhooks:
            env["PUBLIC_BASE_URL"] = self.web_url
        env.update(self.extra_env)
        return env

    def _proc(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name=name, argv=argv, env=env or self.env(), log=self.logs / f"{name}.log")
        self.procs[name] = proc
        return proc.start()

    def start_redis(self) -> Proc:
        argv = [
            "redis-server",
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        proc = self._proc("redis", argv, env={"PATH": os.environ["PATH"]})
        wait_for_port(self.redis_port)
        return proc

    def restart_redis_empty(self) -> None:
        """Kill Redis and start a new one with nothing in it: every queued and delayed message is gone."""
        self.procs["redis"].restart()
        wait_for_port(self.redis_port)

    def start_web(self) -> Proc:
        argv = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.web_port),
            "videopipe.asgi:application",
        ]
        # Its PostgreSQL sessions carry this name, so a test can count the web process's connections alone.
        proc = self._proc("web", argv, env={**self.env(), "PGAPPNAME": "chaos-web"})
        wait_for_port(self.web_port)
        return proc

    def start_worker(self, index: int) -> Proc:
        argv = [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2"]
        return self._proc(f"worker{index}", argv)

    def start(self) -> "Cluster":
        self.start_redis()
        self.start_web()
        for index in range(1, self.workers + 1):
            self.start_worker(index)
        return self

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()

    def peak_rss_mb(self, name: str) -> float:
        """The highest resident memory any process of that group reached (VmHWM), in MB."""
        proc = self.procs[name]
        return max((rss_mb(pid) for pid in group_pids(proc.popen.pid)), default=0.0)

    def logs_tail(self) -> str:
        return "\n".join(f"--- {name}\n{proc.tail(1500)}" for name, proc in self.procs.items())
