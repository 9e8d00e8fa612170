"""A real DNS server for tests: UDP on 127.0.0.1, answering from a zone the test defines.

The zone is a list of lines ``name TYPE rdata`` (e.g. ``remote.test MX 10 mx1.remote.test.``).
A name with records but none of the asked type gets an empty NOERROR answer (NoAnswer),
an unknown name NXDOMAIN, and a name listed in ``servfail`` SERVFAIL. Answers are built
with dnspython; the mailrs resolver is pointed here with ``relay.dns_servers``.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from types import TracebackType

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsServer:
    """A tiny authoritative server for every name in its zone."""

    def __init__(self, zone: list[str], servfail: tuple[str, ...] = ()) -> None:
        self.records: dict[dns.name.Name, dict[int, list[str]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.add(zone)
        self.servfail = {dns.name.from_text(n) for n in servfail}
        self.queries: list[tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def add(self, zone: list[str]) -> None:
        """Publish more records (``name TYPE rdata`` lines), as an operator would."""
        for line in zone:
            name, rdtype, rdata = line.split(None, 2)
            self.records[dns.name.from_text(name)][dns.rdatatype.from_text(rdtype)].append(rdata)

    @property
    def address(self) -> str:
        """``127.0.0.1:port`` for ``relay.dns_servers``."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except Exception:
                continue  # not DNS: ignore, as a real server would
            self.sock.sendto(self.answer(query).to_wire(), peer)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """The response to one query."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        self.queries.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
        if question.name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        if question.name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        rdatas = self.records[question.name].get(question.rdtype, [])
        if rdatas:
            response.answer.append(
                dns.rrset.from_text_list(
                    question.name, 60, dns.rdataclass.IN, question.rdtype, rdatas
                )
            )
        return response
