"""The health blueprint: ``/health`` reports whether the database and the broker answer."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from mailrs.broker.check import check_broker
from web.resources import get_resources

bp = Blueprint("health", __name__)

OK = "ok"


def check_database() -> str:
    """'ok' if the database answers a trivial query, otherwise a short reason."""
    try:
        get_resources().database.ping()
    except Exception as exc:  # any driver error means "unreachable"
        return f"unreachable: {type(exc).__name__}"
    return OK


@bp.get("/health")
def health() -> tuple[Response, int]:
    """JSON status of the database and broker; 200 when both are ok, 503 otherwise."""
    checks = {
        "database": check_database(),
        "broker": check_broker(get_resources().settings),
    }
    healthy = all(value == OK for value in checks.values())
    response = jsonify({"status": OK if healthy else "degraded", **checks})
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if healthy else 503
