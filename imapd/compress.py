"""COMPRESS=DEFLATE (RFC 4978): a transport that deflates writes and inflates reads.

``start_compression`` slides a ``DeflateTransport`` between an asyncio stream pair
and its socket (or TLS) transport, the way ``StreamWriter.start_tls`` swaps in a TLS
transport: the stream writer writes through it, each write flushed with Z_SYNC_FLUSH
so the client can read every response at once; what arrives is inflated in bounded
chunks (no decompression bomb fills memory at once) and handed to the stream's
protocol, which keeps its flow control.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

CHUNK = 64 * 1024
LEVEL = 6


class DeflateTransport(asyncio.Transport):
    """Deflates what is written; everything else goes to the transport underneath."""

    def __init__(self, inner: asyncio.Transport) -> None:
        super().__init__()
        self._inner = inner
        self._deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Compress and send, flushed so the peer can inflate all of it now."""
        if data:
            out = self._deflate.compress(bytes(data)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
            self._inner.write(out)

    def writelines(self, list_of_data: Any) -> None:
        """Write several buffers as one."""
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        """A deflate stream is not half-closed."""
        return False

    def write_eof(self) -> None:
        """Not supported (see ``can_write_eof``)."""
        raise NotImplementedError("COMPRESS streams cannot be half-closed")

    def close(self) -> None:
        """Close the transport underneath."""
        self._inner.close()

    def abort(self) -> None:
        """Abort the transport underneath."""
        self._inner.abort()

    def is_closing(self) -> bool:
        """True once the transport underneath is closing."""
        return self._inner.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport underneath's extra information (peer name, SSL object...)."""
        return self._inner.get_extra_info(name, default)

    def pause_reading(self) -> None:
        """Stop reading from the socket."""
        self._inner.pause_reading()

    def resume_reading(self) -> None:
        """Read from the socket again."""
        self._inner.resume_reading()

    def is_reading(self) -> bool:
        """True while reading from the socket."""
        return self._inner.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Flow-control limits of the transport underneath."""
        self._inner.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        """Bytes waiting in the transport underneath."""
        return self._inner.get_write_buffer_size()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Not used: the stream protocol stays as it is."""
        raise NotImplementedError("the protocol of a COMPRESS transport is fixed")

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The inflating protocol installed underneath."""
        return self._inner.get_protocol()


class _Inflater(asyncio.Protocol):
    """Sits under the stream protocol: inflates incoming bytes, passes events through."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        self._protocol = protocol
        self._inflate = zlib.decompressobj(-15)

    def data_received(self, data: bytes) -> None:
        try:
            while data:
                out = self._inflate.decompress(data, CHUNK)
                if out:
                    self._protocol.data_received(out)
                data = self._inflate.unconsumed_tail
        except zlib.error:
            self._protocol.eof_received()  # garbage: end the session as at end of input

    def eof_received(self) -> bool | None:
        return self._protocol.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        self._protocol.pause_writing()

    def resume_writing(self) -> None:
        self._protocol.resume_writing()


def start_compression(writer: asyncio.StreamWriter) -> None:
    """Compress both directions of a stream pair from now on (after COMPRESS's OK)."""
    inner = writer.transport
    protocol = inner.get_protocol()
    if not isinstance(protocol, asyncio.StreamReaderProtocol):
        raise ConnectionError("not a stream connection")
    wrapped = DeflateTransport(inner)  # type: ignore[arg-type]
    inner.set_protocol(_Inflater(protocol))
    # What StreamWriter.start_tls does with the TLS transport (CPython's streams.py).
    writer._transport = wrapped  # type: ignore[attr-defined]
    protocol._replace_writer(writer)  # type: ignore[attr-defined]
