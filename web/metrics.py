"""``/metrics``: the Prometheus scrape of every mailrs process on this machine.

Every process writes its metrics under ``<data_dir>/metrics``; this page serves their
sum and the queue depth. It answers loopback clients, or, when ``[metrics] token`` is
set, only requests with ``Authorization: Bearer <token>`` (from anywhere). 404 when
metrics are off. Every request of the app is counted here too.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Flask, Response, abort, request
from flask.typing import ResponseReturnValue

from mailrs.metrics.exposition import CONTENT_TYPE, render
from mailrs.metrics.instruments import instruments
from mailrs.metrics.process import setup
from web.resources import get_resources

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    """Set up this process's metrics, count every request, serve /metrics."""
    settings = app.extensions["mailrs"].settings
    if not setup(settings):
        return
    app.register_blueprint(bp)
    app.after_request(_count)


def _count(response: Response) -> Response:
    instruments().web_requests.labels(request.method, str(response.status_code)).inc()
    return response


def _allowed() -> bool:
    token = get_resources().settings.metrics.token
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(sent.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """The text exposition format (403 for a client that is neither loopback nor bearing
    the token)."""
    if not _allowed():
        abort(403)
    body = render(get_resources().database)
    return Response(body, 200, {"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})
