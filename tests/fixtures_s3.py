"""S3 over real HTTP: moto's server on loopback plays the media bucket.

The storage options are the ones videopipe/settings.py builds from the
production environment variables (read once per session in a fresh process),
pointed at moto, so the tests exercise the real configuration rather than a
hand-written copy of it. Every test gets its own bucket; a separate boto3
client lets tests see what really reached the bucket.
"""

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
KEY = SECRET = "testing"


@dataclass
class S3:
    """The bucket a test's media lives in, seen from outside the app."""

    endpoint: str
    bucket: str
    client: Any  # a botocore S3 client of its own, not the app's

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.bucket, Key=key)


def settings_storage(endpoint: str) -> dict:
    """settings.STORAGES["default"] as videopipe/settings.py builds it for a bucket at endpoint."""
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "videopipe.settings",
        "AWS_STORAGE_BUCKET_NAME": "replaced-per-test",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    code = "import json; from django.conf import settings; print(json.dumps(settings.STORAGES['default']))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    # The werkzeug server logs every request to stderr otherwise.
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer  # imported here: most test runs never start it

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    werkzeug.setLevel(level)


@pytest.fixture(scope="session")
def s3_settings(moto_endpoint: str) -> dict:
    return settings_storage(moto_endpoint)


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )


@contextmanager
def fresh_bucket(client: Any) -> Iterator[str]:
    """A new empty bucket, emptied and deleted afterwards (moto keeps everything in memory)."""
    bucket = f"videopipe-test-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield bucket
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)


def storages_with_s3(storages: dict, storage: dict, bucket: str) -> dict:
    """settings.STORAGES with the default storage in bucket."""
    options = {**storage["OPTIONS"], "bucket_name": bucket, "addressing_style": "path"}
    return {**storages, "default": {**storage, "OPTIONS": options}}


@pytest.fixture
def s3_storage(settings, moto_endpoint: str, s3_settings: dict, s3_client: Any) -> Iterator[S3]:
    """Django's default storage is S3 (moto over HTTP) for this test.

    Setting STORAGES sends setting_changed; Django's own receiver (storages_changed in
    django/test/signals.py) empties the storages handler's cache and resets the
    default_storage LazyObject, both now and when pytest-django restores the setting.
    Going through the `settings` fixture keeps this override in the same stack as a
    test's other overrides, so they are undone in order.
    """
    with fresh_bucket(s3_client) as bucket:
        settings.STORAGES = storages_with_s3(settings.STORAGES, s3_settings, bucket)
        yield S3(endpoint=moto_endpoint, bucket=bucket, client=s3_client)
