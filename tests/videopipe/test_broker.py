import threading

import dramatiq
import pytest
from django.conf import settings
from dramatiq.brokers.stub import StubBroker

from videopipe import broker as vp_broker

results: list[str] = []
done = threading.Event()


@dramatiq.actor(queue_name="test-broker")
def record(value: str) -> None:
    results.append(value)
    done.set()


def test_it_starts_one_embedded_worker_that_consumes_the_stub_broker(monkeypatch):
    stub = StubBroker()
    stub.declare_actor(record)
    monkeypatch.setattr(dramatiq, "get_broker", lambda: stub)
    monkeypatch.setattr(vp_broker, "_worker", None)
    monkeypatch.setattr(settings, "EMBEDDED_WORKER", True)
    worker = vp_broker.start_embedded_worker()
    try:
        assert worker is not None and vp_broker.start_embedded_worker() is worker
        results.clear()
        done.clear()
        stub.enqueue(record.message("hello"))
        assert done.wait(10)
        assert results == ["hello"]
    finally:
        worker.stop()


def test_it_leaves_a_real_broker_to_separate_workers(monkeypatch):
    monkeypatch.setattr(vp_broker, "_worker", None)
    monkeypatch.setattr(dramatiq, "get_broker", object)
    assert vp_broker.start_embedded_worker() is None


@pytest.mark.services
def test_it_round_trips_a_message_through_redis():
    from dramatiq.brokers.redis import RedisBroker

    redis_broker = RedisBroker(url=settings.REDIS_URL, namespace="videopipe-test")
    redis_broker.declare_actor(record)
    redis_broker.flush_all()
    worker = dramatiq.Worker(redis_broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        results.clear()
        done.clear()
        redis_broker.enqueue(record.message("via redis"))
        assert done.wait(10)
        assert results == ["via redis"]
    finally:
        worker.stop()
        redis_broker.flush_all()
        redis_broker.close()
