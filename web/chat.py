"""The chat blueprint: the assistant page and the ``/ws/chat`` WebSocket (flask-sock).

Protocol (DESIGN.md): the client sends ``{"type": "message", "text": …}`` or, for a
pressed confirm/cancel button, ``{"type": "action", "action": …, "id": …}``; the server
streams ``{"type": "token", "text": …}`` word by word, then ``{"type": "done",
"buttons": […]}``; new mail arrives as ``{"type": "notification", …}``; a bad frame gets
``{"type": "error", "error": …}``. The handshake needs a logged-in session, the CSRF
token (``?csrf_token=``) and, when the browser sends one, an Origin of this site.

Under gunicorn's gevent worker an open socket costs greenlets, not an OS thread: one
waits for the browser's frames, one (``pump``) forwards the user's mailbox events from
the process's single ``EventHub`` and every 30 s checks that the login session still
lives (a revoked session closes its sockets). The handshake's database session is
closed before the socket starts waiting, and each request's mailbox index is closed
after its answer, so an idle chat holds no database connection or file.

The socket's code (``web.chat_socket``: flask-sock, ``simple_websocket``, the assistant's
engines) is imported by the first chat socket, not when the app is built: the route is
registered here with a view that loads it then (``socket_view``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from web.assistant import history
from web.notifications import HUB_KEY, EventHub
from web.resources import get_resources
from web.wsguard import guarded_thread_class

bp = Blueprint("chat", __name__)
log = logging.getLogger(__name__)

WS_PATH = "/ws/chat"
MAX_FRAME = 16 * 1024


def init_app(app: Flask) -> None:
    """Register the page, the socket, the handshake checks and the process's event hub."""
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "max_message_size": MAX_FRAME,
            "ping_interval": 25,
            # frame headers declaring more than MAX_FRAME close the socket at once
            "thread_class": guarded_thread_class(MAX_FRAME),
        },
    )
    app.extensions[HUB_KEY] = EventHub(app.extensions["mailrs"].settings)
    # what flask-sock's ``Sock(app).route(WS_PATH)`` registers: a websocket rule, endpoint
    # ``chat_socket``; its view is built on the first socket (``socket_view``)
    app.add_url_rule(WS_PATH, "chat_socket", _open_socket, websocket=True)
    app.before_request(_check_handshake)
    app.register_blueprint(bp)


@bp.get("/chat")
@login_required
def page() -> ResponseReturnValue:
    """The assistant on a page of its own, with the user's recent conversation."""
    resources = get_resources()
    turns = history.recent(
        resources.database, current_user.id, resources.settings.assistant.history_limit
    )
    return render_template("chat.html", turns=turns), 200, {"Cache-Control": "private, no-store"}


def _check_handshake() -> None:
    """Refuse a chat socket without a session, a valid CSRF token, or from another site."""
    if request.path != WS_PATH:
        return
    if not current_user.is_authenticated:
        abort(401)
    try:
        validate_csrf(request.args.get("csrf_token", ""))
    except ValidationError:
        abort(400, "missing or invalid CSRF token")
    origin = request.headers.get("Origin")
    if origin and not same_origin(origin, request.host):
        abort(403, "cross-site WebSocket refused")


def same_origin(origin: str, host: str) -> bool:
    """True when a browser's Origin names this host (and port, when the Host has one)."""
    parts = urlsplit(origin)
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if parts.hostname != (name or host).lower():
        return False
    return not port or str(parts.port or {"http": 80, "https": 443}.get(parts.scheme)) == port


def _open_socket(*args: Any, **kwargs: Any) -> Any:
    """The ``/ws/chat`` view: flask-sock's wrapper of ``web.chat_socket.chat_socket``."""
    return socket_view()(*args, **kwargs)


@functools.cache
def socket_view() -> Callable[..., Any]:
    """flask-sock's view around ``chat_socket`` (built once, by the first chat socket)."""
    from flask_sock import Sock

    from web.chat_socket import chat_socket

    class Holder:
        """Takes the view flask-sock would register on a blueprint (``route(bp=...)``)."""

        view: Callable[..., Any]

        def route(self, path: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
            def keep(view: Callable[..., Any]) -> Callable[..., Any]:
                self.view = view
                return view

            return keep

    holder = Holder()
    Sock().route(WS_PATH, bp=holder)(chat_socket)
    return holder.view
