"""The Redis broker: kombu's transport, with one redis-py client per channel and pool."""

from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Queue
from support.brokers import redis_test_url

from mailrs.broker import redis_transport

pytestmark = pytest.mark.redis


def test_messages_round_trip_and_the_client_is_reused() -> None:
    redis_transport.install()
    url = redis_test_url()
    queue = Queue("transport-test", Exchange("transport-test"), "transport-test")
    with Connection(url) as conn:
        assert conn.as_uri().startswith("redis://")
        channel = conn.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second  # no new client (and callback table) per command
        with conn.Producer() as producer:
            for n in range(3):
                producer.publish(
                    {"n": n}, exchange=queue.exchange, routing_key="transport-test", declare=[queue]
                )
        received = []
        with conn.Consumer(queue, callbacks=[lambda body, msg: (received.append(body), msg.ack())]):
            while len(received) < 3:
                conn.drain_events(timeout=5)
        assert [body["n"] for body in received] == [0, 1, 2]
        channel._disconnect_pools()  # kombu drops its pools after a connection error
        with channel.conn_or_acquire() as third:
            assert third is not first and third.connection_pool is channel.pool
            assert third.ping()
