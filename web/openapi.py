"""The OpenAPI 3.1 document of the REST API, served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from web.admin.openapi import admin_paths, admin_schemas
from web.openapi_ops import ERROR, operation

FOLDER = {"name": "folder", "in": "query", "schema": {"type": "string", "default": "INBOX"}}
UID = {"name": "uid", "in": "path", "required": True, "schema": {"type": "integer"}}


def _op(summary: str, params: list[dict[str, Any]] | None = None, body: str = "") -> dict:
    return operation(summary, params, body)


def openapi_document() -> dict[str, Any]:
    """The whole document."""
    token_op = _op("Exchange email and password for a JWT", body="Credentials")
    token_op["security"] = []
    token_op["responses"]["429"] = ERROR
    revoke_op = _op(
        "Revoke the calling token or session, one session by id, or all of them", body="Revoke"
    )
    revoke_op["requestBody"]["required"] = False
    send_op = _op("Send a message (copy filed in Sent)", body="Draft")
    send_op["responses"]["202"] = send_op["responses"].pop("200")
    send_op["responses"]["422"] = ERROR
    return {
        "openapi": "3.1.0",
        "info": {"title": "mailrs API", "version": "1"},
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/auth/token": {"post": token_op},
            "/api/auth/revoke": {"post": revoke_op},
            "/api/auth/sessions": {"get": _op("The caller's active web sessions and API tokens")},
            "/api/folders": {"get": _op("Folders with total and unread counts")},
            "/api/messages": {
                "get": _op(
                    "One page of a folder, newest first",
                    [
                        FOLDER,
                        {"name": "page", "in": "query", "schema": {"type": "integer"}},
                        {"name": "per_page", "in": "query", "schema": {"type": "integer"}},
                    ],
                ),
                "post": send_op,
            },
            "/api/messages/{uid}": {
                "get": _op("A message: headers, text, sanitised HTML, attachments", [UID, FOLDER]),
                "delete": _op("Move to Trash (remove for good from Trash)", [UID, FOLDER]),
            },
            "/api/messages/{uid}/raw": {"get": _op("The stored bytes", [UID, FOLDER])},
            "/api/messages/{uid}/attachments/{index}": {
                "get": _op(
                    "Download an attachment",
                    [
                        UID,
                        FOLDER,
                        {
                            "name": "index",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                    ],
                )
            },
            "/api/messages/{uid}/move": {
                "post": _op("Move to another folder", [UID, FOLDER], body="Move")
            },
            "/api/messages/{uid}/flags": {
                "post": _op("Add and remove flags", [UID, FOLDER], body="Flags"),
                "patch": _op("Add and remove flags", [UID, FOLDER], body="Flags"),
            },
            "/api/search": {
                "get": _op(
                    "Search by sender, subject, text and date",
                    [
                        {"name": name, "in": "query", "schema": {"type": "string"}}
                        for name in ("from", "subject", "q", "since", "folder")
                    ],
                )
            },
            **admin_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "session": {"type": "apiKey", "in": "cookie", "name": "mailrs_session"},
            },
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {"type": "string"},
                                    "status": {"type": "integer"},
                                },
                            }
                        }
                    },
                }
            },
            "schemas": {
                "Credentials": {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
                },
                "Revoke": {
                    "type": "object",
                    "properties": {
                        "all": {"type": "boolean"},
                        "session_id": {"type": "string"},
                    },
                },
                "Draft": {
                    "type": "object",
                    "required": ["to"],
                    "properties": {
                        "to": {"type": "array", "items": {"type": "string"}},
                        "cc": {"type": "array", "items": {"type": "string"}},
                        "bcc": {"type": "array", "items": {"type": "string"}},
                        "subject": {"type": "string"},
                        "text": {"type": "string"},
                        "reply_to_uid": {"type": "integer"},
                        "reply_to_folder": {"type": "string"},
                    },
                },
                "Move": {
                    "type": "object",
                    "required": ["to"],
                    "properties": {"to": {"type": "string"}},
                },
                "Flags": {
                    "type": "object",
                    "properties": {
                        "add": {"type": "array", "items": {"type": "string"}},
                        "remove": {"type": "array", "items": {"type": "string"}},
                    },
                },
                **admin_schemas(),
            },
        },
    }
