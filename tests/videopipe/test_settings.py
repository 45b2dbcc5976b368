"""Settings read the environment; these run manage.py in a fresh process with a chosen environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from videopipe import settings as vp_settings

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "x7Qm2pLr9sVb4nZc8wYt6uJh1gFd5eKa0oPi3" * 2,
    "ALLOWED_HOSTS": "videopipe.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://videopipe.example.com",
    "DATABASE_URL": "postgres://videopipe:secret@db.internal:5432/videopipe",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "AWS_STORAGE_BUCKET_NAME": "videopipe-media",
    "AWS_S3_ENDPOINT_URL": "https://account.r2.cloudflarestorage.com",
    "AWS_ACCESS_KEY_ID": "key",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "PUBLIC_BASE_URL": "https://videopipe.example.com",
}


def run(code_or_args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    return subprocess.run(
        [sys.executable, *code_or_args],
        check=False,
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def describe(env: dict[str, str]) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='videopipe.settings'; django.setup();"
        "from django.conf import settings; import dramatiq;"
        "print(settings.DATABASES['default']['ENGINE'], settings.CHANNEL_LAYERS['default']['BACKEND'],"
        " type(dramatiq.get_broker()).__name__, settings.STORAGES['default']['BACKEND'], settings.EMBEDDED_WORKER)"
    )
    result = run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_it_passes_the_deploy_check_with_a_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_runs_embedded_with_no_environment_at_all():
    assert describe({}) == (
        "django.db.backends.sqlite3 channels.layers.InMemoryChannelLayer StubBroker "
        "django.core.files.storage.FileSystemStorage True"
    )


def test_it_uses_postgres_redis_and_s3_in_production():
    assert describe(PRODUCTION) == (
        "django.db.backends.postgresql channels_redis.core.RedisChannelLayer RedisBroker "
        "storages.backends.s3.S3Storage False"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "x"}, "SECRET_KEY must be set"),
        ({"DEBUG": "0", "SECRET_KEY": "s" * 60}, "ALLOWED_HOSTS must be set"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must be a URL with scheme"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a URL"),
        ({"EMBEDDED_WORKER_THREADS": "many"}, "EMBEDDED_WORKER_THREADS='many' is not an integer"),
        ({"EMBEDDED_WORKER_THREADS": "0"}, "must be at least 1"),
        ({"CSRF_TRUSTED_ORIGINS": "videopipe.example.com"}, "need a scheme"),
    ],
)
def test_it_fails_loudly_on_bad_values(env, message):
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_the_helpers_parse_and_refuse(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    monkeypatch.setenv("X_INT", "12")
    assert vp_settings.env_bool("X_BOOL", default=False) is True
    assert vp_settings.env_bool("X_MISSING", default=True) is True
    assert vp_settings.env_list("X_LIST") == ["a", "b", "c"]
    assert vp_settings.env_int("X_INT", 1, minimum=10) == 12
    with pytest.raises(ImproperlyConfigured):
        vp_settings.env_int("X_INT", 1, minimum=13)
    monkeypatch.setenv("X_URL", "ftp://host/x")
    with pytest.raises(ImproperlyConfigured):
        vp_settings.env_url("X_URL", schemes=("https",))
    # A SQLite URL names a file, not a host.
    monkeypatch.setenv("X_URL", "sqlite:////tmp/videopipe.sqlite3")
    assert vp_settings.env_url("X_URL", schemes=("postgres", "sqlite")) == "sqlite:////tmp/videopipe.sqlite3"
    monkeypatch.setenv("X_URL", "postgres:///nohost")
    with pytest.raises(ImproperlyConfigured):
        vp_settings.env_url("X_URL", schemes=("postgres", "sqlite"))


def test_it_has_no_missing_migrations():
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"], {})
    assert result.returncode == 0, result.stdout + result.stderr
