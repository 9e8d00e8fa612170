"""The embedded broker: kombu's file transport, made safe for several processes.

kombu's ``filesystem`` transport writes each message file in place and a consumer
claims files by moving them, ignoring the writer's advisory lock, so a consumer can
take a half-written message; without ``store_processed`` it also moves files through
the system temp folder. This channel writes under a hidden temporary name and renames
it into place (atomic on one filesystem), and claims a message by renaming it into the
broker's own ``claimed`` folder, so each message is read whole, by exactly one consumer.

A broker folder that disappears (removed by hand, or removed and made again) is weather,
not death: the channel makes its folders again when it finds them gone, and keeps the
exchange bindings it declared in memory so that a lost control folder does not turn
every later publish into a silent drop. Messages that were in the removed folder are
re-published by the sweeper, like those accepted while any broker was down.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

TRANSPORT = "mailrs.broker.embedded:Transport"

# Bindings this process declared, per control folder and exchange: kombu declares each
# only once per connection, so they are written again from here if the folder is lost.
_BINDINGS: dict[tuple[str, str], list[Any]] = {}
_BINDINGS_LOCK = threading.Lock()


class Channel(filesystem.Channel):
    """A file-broker channel with atomic puts and claims, that outlives its folders."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the message under a temporary name, then rename it into the queue."""
        # Zero-padded nanoseconds: names sort in publishing order (kombu's milliseconds
        # do not, within one millisecond).
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        try:
            self._write(name, payload)
        except FileNotFoundError:  # the folder was removed: make it again, once
            try:
                os.makedirs(self.data_folder_out, exist_ok=True)
                self._write(name, payload)
            except OSError as exc:
                raise ChannelError(f"cannot add {name!r} to the embedded broker") from exc
        except OSError as exc:
            raise ChannelError(f"cannot add {name!r} to the embedded broker") from exc

    def _write(self, name: str, payload: Any) -> None:
        final = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".tmp-{uuid.uuid4()}")
        try:
            with open(temporary, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.rename(temporary, final)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def _listing(self) -> list[str]:
        """The queue folder's file names, sorted; an empty list (and the folder made
        again) when it has gone."""
        try:
            return sorted(os.listdir(self.data_folder_in))
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                _make_folder(self.data_folder_in)
            return []

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:  # type: ignore[override]
        """Bind as kombu does, and remember the binding in case the folder is lost."""
        os.makedirs(self.control_folder, exist_ok=True)
        super()._queue_bind(exchange, routing_key, pattern, queue)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with _BINDINGS_LOCK:
            known = _BINDINGS.setdefault((str(self.control_folder), exchange), [])
            if binding not in known:
                known.append(binding)

    def get_table(self, exchange: str) -> list[Any]:  # type: ignore[override]
        """The exchange's bindings; written again from memory when the file is gone."""
        table: list[Any] = super().get_table(exchange)
        if table:
            return table
        with _BINDINGS_LOCK:
            known = list(_BINDINGS.get((str(self.control_folder), exchange), []))
        for binding in known:
            with contextlib.suppress(ChannelError, OSError):
                os.makedirs(self.control_folder, exist_ok=True)
                super()._queue_bind(exchange, *binding)
        return known

    def _size(self, queue: str) -> int:  # type: ignore[override]
        """Messages waiting in ``queue``."""
        wanted = f"{queue}.msg"
        return sum(1 for name in self._listing() if name.partition(".")[2] == wanted)

    def _get(self, queue: str) -> Any:  # type: ignore[override]
        """Claim the oldest message of ``queue`` by renaming it; read it; delete it."""
        wanted = f"{queue}.msg"
        try:
            claimed_dir = self._claimed_folder()
        except OSError:  # the broker folder is being removed right now: nothing to get yet
            raise Empty() from None
        for name in self._listing():
            if name.startswith(".") or name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(claimed_dir, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer claimed it first
            try:
                with open(claimed, "rb") as fh:
                    payload = fh.read()
                os.unlink(claimed)
            except OSError as exc:
                raise ChannelError(f"cannot read {name!r} from the embedded broker") from exc
            return loads(bytes_to_str(payload))
        raise Empty()

    def _claimed_folder(self) -> str:
        """The folder claimed messages are moved to (made again if it has gone)."""
        folder = os.path.join(os.path.dirname(self.data_folder_in.rstrip("/")), "claimed")
        _make_folder(folder)
        return folder


def _make_folder(path: str) -> None:
    """``makedirs``, again when a parent is removed meanwhile (by someone's rmtree)."""
    for _ in range(5):
        try:
            os.makedirs(path, exist_ok=True)
            return
        except FileNotFoundError:
            continue
    os.makedirs(path, exist_ok=True)


class Transport(filesystem.Transport):
    """The embedded broker's transport (``broker_transport`` names this class)."""

    Channel = Channel
