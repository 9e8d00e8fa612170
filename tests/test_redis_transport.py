"""The Redis broker transport: kombu's, with one redis-py client per channel and pool."""

from __future__ import annotations

import pytest
from broker_support import redis_test_url
from kombu import Connection, Exchange, Queue

from mailrs.broker import REDIS_TRANSPORT, celery_options
from mailrs.config import load_settings

pytestmark = pytest.mark.redis


def test_redis_brokers_use_the_shared_client_transport(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "mailrs.toml"
    config.write_text('[celery]\nbroker_url = "redis://127.0.0.1:6379/0"\n')
    assert celery_options(load_settings(config, environ={}))["broker_transport"] == REDIS_TRANSPORT
    config.write_text('[celery]\nbroker_url = "amqp://guest@127.0.0.1//"\n')
    assert celery_options(load_settings(config, environ={}))["broker_transport"] is None


def test_messages_round_trip_and_the_client_is_reused() -> None:
    url = redis_test_url()
    queue = Queue("transport-test", Exchange("transport-test"), "transport-test")
    with Connection(url, transport=REDIS_TRANSPORT) as conn:
        channel = conn.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second  # no new client (and callback table) per command
        with conn.Producer() as producer:
            for n in range(3):
                producer.publish({"n": n}, exchange=queue.exchange, routing_key="transport-test",
                                 declare=[queue])  # fmt: skip
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append(body), msg.ack())]):
            while len(received) < 3:
                conn.drain_events(timeout=5)
        assert [body["n"] for body in received] == [0, 1, 2]
        channel._disconnect_pools()  # kombu drops its pools after a connection error
        with channel.conn_or_acquire() as third:
            assert third is not first and third.connection_pool is channel.pool
            assert third.ping()
