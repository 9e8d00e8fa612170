"""A test client for the chat socket: log in over HTTP, then talk JSON over a WebSocket."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request
from typing import Any

from simple_websocket import Client

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
CSRF_FORM = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Browser:
    """Cookies and CSRF token of one logged-in session against a real server."""

    def __init__(self, base: str, address: str, password: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        form = self.get("/login")
        token = CSRF_FORM.search(form)
        assert token, form
        body = urllib.parse.urlencode(
            {"csrf_token": token.group(1), "email": address, "password": password}
        ).encode()
        request = urllib.request.Request(
            f"{base}/login", data=body, headers={"Referer": f"{base}/login"}
        )
        with self.opener.open(request, timeout=30) as response:
            assert response.url.rstrip("/") == base, response.url
            page = response.read().decode()
        meta = CSRF_META.search(page)
        assert meta, page
        self.csrf = meta.group(1)

    def get(self, path: str) -> str:
        """A page's HTML."""
        with self.opener.open(f"{self.base}{path}", timeout=30) as response:
            return response.read().decode()

    @property
    def cookie(self) -> str:
        """The Cookie header of this session."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def chat(self, csrf: str | None = None, origin: str | None = None) -> ChatSocket:
        """Open the chat socket of this session."""
        ws_url = self.base.replace("http://", "ws://") + "/ws/chat"
        token = self.csrf if csrf is None else csrf
        if token:
            ws_url += "?csrf_token=" + urllib.parse.quote(token)
        headers = {"Cookie": self.cookie, "Origin": origin or self.base}
        return ChatSocket(Client.connect(ws_url, headers=headers))


class ChatSocket:
    """One open chat: send requests, collect frames."""

    def __init__(self, ws: Client) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    def send(self, frame: dict[str, Any]) -> None:
        """Send one JSON frame."""
        self.ws.send(json.dumps(frame))

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame; AssertionError if none comes in time."""
        raw = self.ws.receive(timeout=timeout)
        assert raw is not None, "no frame from the chat"
        frame = json.loads(raw)
        self.frames.append(frame)
        return frame

    def until(
        self, kind: str, timeout: float = 20.0
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Frames up to the first of type ``kind``: (the ones before it, it)."""
        before = []
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next(max(0.1, deadline - time.monotonic()))
            if frame["type"] == kind:
                return before, frame
            before.append(frame)

    def ask(self, text: str) -> tuple[list[str], dict[str, Any]]:
        """Send a request; returns the streamed tokens and the ``done`` frame."""
        self.send({"type": "message", "text": text})
        before, done = self.until("done")
        return [f["text"] for f in before if f["type"] == "token"], done

    def close(self) -> None:
        """Close the socket."""
        self.ws.close()
