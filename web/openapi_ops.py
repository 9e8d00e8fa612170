"""One OpenAPI operation object, as the REST API's and the admin API's documents write them."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def operation(
    summary: str,
    params: list[dict[str, Any]] | None = None,
    body: str = "",
    *,
    errors: tuple[int, ...] = (400, 401, 404),
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """An operation answering 200 with JSON or one of ``errors``; ``body`` names the
    schema of a required JSON request body."""
    responses: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {}}}}
    responses.update({str(code): ERROR for code in errors})
    op: dict[str, Any] = {"summary": summary, "parameters": params or [], "responses": responses}
    if tags:
        op["tags"] = tags
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op
