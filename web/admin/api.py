"""``/api/admin/...``: the admin operations as JSON, for an admin's Bearer token (or the
browser session with ``X-CSRFToken``, as the rest of the API). Non-admins get 403."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from web.admin import domain_operations as domain_ops
from web.admin import operations as ops
from web.admin.guard import api_admin
from web.resources import get_db_session

bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")


@bp.before_request
def _admins_only() -> None:
    api_admin()


@bp.errorhandler(ops.AdminInputError)
def _bad_input(error: ops.AdminInputError) -> ResponseReturnValue:
    return jsonify({"error": str(error), "status": 400}), 400


@bp.errorhandler(ops.AdminNotFound)
def _not_found(error: ops.AdminNotFound) -> ResponseReturnValue:
    return jsonify({"error": str(error), "status": 404}), 404


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object")
    return body


def _text(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise ops.AdminInputError(f"{key}: a string is required")
    return value


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else default


@bp.get("/users")
def users() -> ResponseReturnValue:
    """Every account with usage and quota."""
    return jsonify({"users": ops.users(get_db_session())})


@bp.post("/users")
def add_user() -> ResponseReturnValue:
    """Create an account: {email, password, is_admin?, quota?}."""
    body = _body()
    address = ops.create_user(
        get_db_session(),
        _text(body, "email"),
        _text(body, "password"),
        admin=body.get("is_admin") is True,
        quota=_text(body, "quota", ""),
    )
    return jsonify({"address": address}), 201


@bp.patch("/users/<path:address>")
def change_user(address: str) -> ResponseReturnValue:
    """Change {disabled?, is_admin?, quota? ("2G" or "none"), password?}."""
    return jsonify({"address": ops.update_user(get_db_session(), address, _body())})


@bp.delete("/users/<path:address>")
def delete_user(address: str) -> ResponseReturnValue:
    """Delete an account (?purge=1 removes its mail too)."""
    purge = request.args.get("purge") == "1"
    return jsonify({"deleted": ops.remove_user(get_db_session(), address, purge=purge)})


@bp.get("/domains")
def domains() -> ResponseReturnValue:
    """Every domain with its user count and DKIM selectors."""
    return jsonify({"domains": domain_ops.domain_list(get_db_session())})


@bp.post("/domains")
def add_domain() -> ResponseReturnValue:
    """Set up {name}: DKIM keys made; answers with the records to publish."""
    session = get_db_session()
    name = domain_ops.create_domain(session, _text(_body(), "name"))
    return jsonify(domain_ops.domain_detail(session, name)), 201


@bp.get("/domains/<name>")
def domain(name: str) -> ResponseReturnValue:
    """One domain: selectors, the DNS records to publish (also as a zone), the hosts."""
    return jsonify(domain_ops.domain_detail(get_db_session(), name))


@bp.get("/domains/<name>/check")
def check_domain(name: str) -> ResponseReturnValue:
    """Ask DNS for every record the domain needs: ok, missing or wrong, each."""
    return jsonify(domain_ops.check_dns(get_db_session(), name))


@bp.post("/domains/<name>/dkim")
def rotate_dkim(name: str) -> ResponseReturnValue:
    """A DKIM rotation step: {step: start|activate|retire, force?}."""
    body = _body()
    session = get_db_session()
    done = domain_ops.rotate_dkim(session, name, _text(body, "step"), body.get("force") is True)
    return jsonify({**domain_ops.domain_detail(session, name), "result": done})


@bp.delete("/domains/<name>")
def delete_domain(name: str) -> ResponseReturnValue:
    """Remove a domain with no users left, its aliases and DKIM keys."""
    return jsonify({"deleted": domain_ops.remove_domain(get_db_session(), name)})


@bp.get("/aliases")
def aliases() -> ResponseReturnValue:
    """Every alias row."""
    return jsonify({"aliases": ops.aliases(get_db_session())})


@bp.post("/aliases")
def add_alias() -> ResponseReturnValue:
    """Add {source, destination}."""
    body = _body()
    alias = ops.create_alias(get_db_session(), _text(body, "source"), _text(body, "destination"))
    return jsonify(alias), 201


@bp.delete("/aliases")
def delete_alias() -> ResponseReturnValue:
    """Delete ?source=...[&destination=...]."""
    source = request.args.get("source", "")
    count = ops.remove_alias(get_db_session(), source, request.args.get("destination"))
    return jsonify({"deleted": count})


@bp.get("/queue")
def queue() -> ResponseReturnValue:
    """Queued messages (?all=1 adds finished ones; ?limit=N)."""
    rows = ops.queue(get_db_session(), request.args.get("all") == "1", _int_arg("limit", 200))
    return jsonify({"messages": rows})


@bp.get("/queue/<queue_id>")
def message(queue_id: str) -> ResponseReturnValue:
    """One message with its deliveries, attempts and history."""
    return jsonify(ops.queued_message(get_db_session(), queue_id))


@bp.post("/queue/<queue_id>/retry")
def retry(queue_id: str) -> ResponseReturnValue:
    """Hand an unfinished message to the workers now."""
    return jsonify({"queue_id": queue_id.upper(), "result": ops.retry(get_db_session(), queue_id)})


@bp.delete("/queue/<queue_id>")
def delete_message(queue_id: str) -> ResponseReturnValue:
    """Remove a message from the queue for good."""
    return jsonify({"deleted": ops.remove_message(get_db_session(), queue_id)})


@bp.get("/pipeline")
def pipeline() -> ResponseReturnValue:
    """Per-stage figures (?hours=N, default 24)."""
    return jsonify(ops.pipeline(get_db_session(), _int_arg("hours", 24)))


@bp.get("/logins")
def logins() -> ResponseReturnValue:
    """The latest login attempts (?limit=N)."""
    return jsonify({"events": ops.login_audit(get_db_session(), _int_arg("limit", 200))})
