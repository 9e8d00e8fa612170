"""The ``/api/admin`` part of the OpenAPI document (merged by ``web.openapi``)."""

from __future__ import annotations

from typing import Any

from web.openapi_ops import operation

ADDRESS = {"name": "address", "in": "path", "required": True, "schema": {"type": "string"}}
DOMAIN = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
QUEUE_ID = {"name": "queue_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(*names: str, kind: str = "string") -> list[dict[str, Any]]:
    return [{"name": name, "in": "query", "schema": {"type": kind}} for name in names]


def _op(summary: str, params: list[dict[str, Any]] | None = None, body: str = "") -> dict:
    return operation(
        f"(admin) {summary}", params, body, errors=(400, 401, 403, 404), tags=["admin"]
    )


def admin_paths() -> dict[str, Any]:
    """Every ``/api/admin`` operation (403 for an account without the admin role)."""
    return {
        "/api/admin/users": {
            "get": _op("Every account with usage, quota, disabled and admin flags"),
            "post": _op("Create an account", body="AdminNewUser"),
        },
        "/api/admin/users/{address}": {
            "patch": _op(
                "Disable/enable, set quota, reset password, admin role",
                [ADDRESS],
                body="AdminUserChange",
            ),
            "delete": _op("Delete an account (purge=1: its mail too)", [ADDRESS, *_query("purge")]),
        },
        "/api/admin/domains": {
            "get": _op("Every domain with its user count and DKIM selectors"),
            "post": _op(
                "Set up a domain: DKIM keys and the records to publish", body="AdminDomain"
            ),
        },
        "/api/admin/domains/{name}": {
            "get": _op("One domain: selectors, DNS records (also as a zone), hosts", [DOMAIN]),
            "delete": _op("Remove a domain with no users, its aliases and DKIM keys", [DOMAIN]),
        },
        "/api/admin/domains/{name}/check": {
            "get": _op("Ask DNS for every record the domain needs", [DOMAIN])
        },
        "/api/admin/domains/{name}/dkim": {
            "post": _op("A DKIM rotation step: start, activate, retire", [DOMAIN], body="AdminDkim")
        },
        "/api/admin/aliases": {
            "get": _op("Every alias"),
            "post": _op("Add an alias destination", body="AdminAlias"),
            "delete": _op(
                "Delete an alias (one destination or all)", _query("source", "destination")
            ),
        },
        "/api/admin/queue": {
            "get": _op("Queued messages", [*_query("all"), *_query("limit", kind="integer")])
        },
        "/api/admin/queue/{queue_id}": {
            "get": _op("One message: deliveries, attempts, history", [QUEUE_ID]),
            "delete": _op("Remove a message for good (no delivery, no bounce)", [QUEUE_ID]),
        },
        "/api/admin/queue/{queue_id}/retry": {
            "post": _op("Hand an unfinished message to the workers now", [QUEUE_ID])
        },
        "/api/admin/pipeline": {
            "get": _op("Per-stage counts, latency and failures", _query("hours", kind="integer"))
        },
        "/api/admin/logins": {
            "get": _op("The login audit, newest first", _query("limit", kind="integer"))
        },
    }


def admin_schemas() -> dict[str, Any]:
    """The request bodies of the admin operations."""
    text = {"type": "string"}
    return {
        "AdminNewUser": {
            "type": "object",
            "required": ["email", "password"],
            "properties": {
                "email": text,
                "password": text,
                "quota": {"type": "string", "description": "e.g. 2G, 500M; empty: unlimited"},
                "is_admin": {"type": "boolean"},
            },
        },
        "AdminUserChange": {
            "type": "object",
            "properties": {
                "disabled": {"type": "boolean"},
                "is_admin": {"type": "boolean"},
                "quota": {"type": "string", "description": "e.g. 2G, or none"},
                "password": text,
            },
        },
        "AdminDomain": {"type": "object", "required": ["name"], "properties": {"name": text}},
        "AdminDkim": {
            "type": "object",
            "required": ["step"],
            "properties": {
                "step": {"type": "string", "enum": ["start", "activate", "retire"]},
                "force": {"type": "boolean", "description": "activate without checking DNS"},
            },
        },
        "AdminAlias": {
            "type": "object",
            "required": ["source", "destination"],
            "properties": {"source": text, "destination": text},
        },
    }
