"""The embedded broker: messages are written atomically and claimed by one consumer only.

kombu's virtual transports keep declared exchanges in class-level state shared by
every connection of a process, so each test uses queue names of its own.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

from kombu import Connection

from mailrs.broker.embedded import TRANSPORT


def connection(folder: Path) -> Connection:
    """A kombu connection to an embedded broker in ``folder``."""
    (folder / "queue").mkdir(parents=True, exist_ok=True)
    return Connection(
        "filesystem://",
        transport=TRANSPORT,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
        },
    )


def unique(name: str) -> str:
    """A queue name no other test in this process declared."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_round_trip_in_order_and_nothing_left_behind(tmp_path: Path) -> None:
    with connection(tmp_path) as conn:
        queue = conn.SimpleQueue(unique("inbound"))
        for n in range(5):
            queue.put({"n": n})
        got = []
        for _ in range(5):
            message = queue.get(timeout=5)
            got.append(message.payload["n"])
            message.ack()
        queue.close()
    assert got == [0, 1, 2, 3, 4]
    assert os.listdir(tmp_path / "queue") == []
    assert os.listdir(tmp_path / "claimed") == []


def test_half_written_files_are_never_visible(tmp_path: Path) -> None:
    """Only complete files carry a queue's name; a consumer ignores temporary ones."""
    (tmp_path / "queue").mkdir()
    (tmp_path / "queue" / ".tmp-partial").write_bytes(b'{"body": "trunc')
    name = unique("inbound")
    with connection(tmp_path) as conn:
        queue = conn.SimpleQueue(name)
        queue.put({"whole": True})
        names = os.listdir(tmp_path / "queue")
        assert sorted(n.endswith(f".{name}.msg") for n in names) == [False, True]
        assert queue.get(timeout=5).payload == {"whole": True}
        queue.close()


def test_concurrent_consumers_each_get_a_message_once(tmp_path: Path) -> None:
    total = 200
    name = unique("deliver")
    with connection(tmp_path) as conn:
        producer = conn.SimpleQueue(name)
        for n in range(total):
            producer.put({"n": n})
        producer.close()
    seen: list[int] = []
    lock = threading.Lock()

    def consume() -> None:
        with connection(tmp_path) as conn:
            queue = conn.SimpleQueue(name)
            while True:
                try:
                    message = queue.get(timeout=1)
                except queue.Empty:
                    break
                with lock:
                    seen.append(message.payload["n"])
                message.ack()
            queue.close()

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(seen) == list(range(total))
