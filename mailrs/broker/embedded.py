"""The embedded broker: kombu's file transport, made safe for several processes.

kombu's ``filesystem`` transport writes each message file in place and a consumer
claims files by moving them, ignoring the writer's advisory lock, so a consumer can
take a half-written message; without ``store_processed`` it also moves files through
the system temp folder. This channel writes under a hidden temporary name and renames
it into place (atomic on one filesystem), and claims a message by renaming it into the
broker's own ``claimed`` folder, so each message is read whole, by exactly one consumer.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

TRANSPORT = "mailrs.broker.embedded:Transport"


class Channel(filesystem.Channel):
    """A file-broker channel with atomic puts and claims."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the message under a temporary name, then rename it into the queue."""
        # Zero-padded nanoseconds: names sort in publishing order (kombu's milliseconds
        # do not, within one millisecond).
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".tmp-{uuid.uuid4()}")
        try:
            with open(temporary, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.rename(temporary, final)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise ChannelError(f"cannot add {name!r} to the embedded broker") from exc

    def _get(self, queue: str) -> Any:  # type: ignore[override]
        """Claim the oldest message of ``queue`` by renaming it; read it; delete it."""
        wanted = f"{queue}.msg"
        claimed_dir = self._claimed_folder()
        for name in sorted(os.listdir(self.data_folder_in)):
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
        folder = os.path.join(os.path.dirname(self.data_folder_in.rstrip("/")), "claimed")
        os.makedirs(folder, exist_ok=True)
        return folder


class Transport(filesystem.Transport):
    """The embedded broker's transport (``broker_transport`` names this class)."""

    Channel = Channel
