"""The REST API under /api/: token, revoke, sessions, folders, messages (list, get, raw),
search, send, move, delete, flags. Errors are JSON (``{"error": ...}``); a message that is
not the caller's is simply not found (404). The OpenAPI document is at /api/openapi.json.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from mailrs.accounts.sessions import end_all_sessions, end_session, list_sessions, open_session
from mailrs.db.models import User
from mailrs.errors import AuthFailed, MailrsError
from web.api_auth import api_caller
from web.login_guard import LOGIN_FAILED, LoginThrottled, check_login
from web.mailservice.compose import Draft, Upload, parse_addresses, reply_draft
from web.mailservice.errors import BadInput, ServiceError, from_core
from web.mailservice.flags import flag_letters
from web.mailservice.mailbox import UserMailbox, folder_name
from web.mailservice.reading import attachment_bytes, view_message
from web.mailservice.search import Query, search
from web.mailservice.sending import send_draft
from web.openapi import openapi_document
from web.resources import get_db_session, get_resources, open_mailbox
from web.tokens import issue_token, token_lifetime

bp = Blueprint("api", __name__, url_prefix="/api")


def init_app(app: Flask) -> None:
    """Register the blueprint, exempt it from form CSRF (it checks its own), JSON errors."""
    app.extensions["csrf"].exempt(bp)
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)


def json_error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    """A JSON error body with the given status."""
    return jsonify({"error": message, "status": status, **extra}), status


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _http_error(error: HTTPException) -> ResponseReturnValue:
    if not _is_api():
        return error
    response, status = json_error(error.code or 500, error.description or error.name)
    if error.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mailrs"'
    return response, status


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    if _is_api():
        return json_error(400, f"CSRF check failed: {error.description}")
    from web.security import csrf_failed_page

    return csrf_failed_page(error)


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError) -> ResponseReturnValue:
    return json_error(error.status, str(error))


@bp.errorhandler(MailrsError)
def _core_error(error: MailrsError) -> ResponseReturnValue:
    return _service_error(from_core(error))


def _mailbox() -> UserMailbox:
    return open_mailbox(api_caller().address)


def _folder() -> str:
    return folder_name(request.args.get("folder"))


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"{name} must be a number") from None


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object")
    return body


@bp.post("/auth/token")
def token() -> ResponseReturnValue:
    """Exchange an address and password for a JWT."""
    body = request.get_json(silent=True) or request.form
    address, password = body.get("email"), body.get("password")
    if not isinstance(address, str) or not isinstance(password, str) or not address:
        return json_error(400, "send email and password")
    try:
        user = check_login(
            get_db_session(),
            get_resources().throttle,
            address,
            password,
            request.remote_addr or "",
            via="api",
        )
    except LoginThrottled as exc:
        response, status = json_error(429, str(exc), retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, status
    except AuthFailed:
        return json_error(401, LOGIN_FAILED)
    settings = get_resources().settings
    db = get_db_session()
    account = db.get(User, user.id)
    if account is None:
        return json_error(401, LOGIN_FAILED)
    sid = open_session(
        db,
        account,
        "api",
        token_lifetime(settings),
        client_addr=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
    )
    signed, expires = issue_token(settings, account.uid, sid, account.address)
    return jsonify(
        {
            "token": signed,
            "token_type": "Bearer",
            "expires_at": expires.isoformat(timespec="seconds"),
            "expires_in": int((expires - dt.datetime.now(dt.UTC)).total_seconds()),
        }
    )


@bp.post("/auth/revoke")
def revoke() -> ResponseReturnValue:
    """Revoke the calling token or session; ``{"all": true}`` every one of the account's,
    ``{"session_id": …}`` one of them (as listed by GET /api/auth/sessions)."""
    caller = api_caller()
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    db = get_db_session()
    if body.get("all") is True:
        return jsonify({"revoked": end_all_sessions(db, caller.uid)})
    target = body.get("session_id", caller.sid)
    if not isinstance(target, str) or not target:
        raise BadInput("session_id must be a string")
    return jsonify({"revoked": int(end_session(db, target, caller.uid))})


@bp.get("/auth/sessions")
def sessions() -> ResponseReturnValue:
    """The caller's active web sessions and API tokens."""
    caller = api_caller()
    rows = list_sessions(get_db_session(), caller.uid)
    return jsonify(
        {
            "sessions": [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "current": r.id == caller.sid,
                    "created_at": r.created_at.isoformat(timespec="seconds"),
                    "last_seen_at": r.last_seen_at.isoformat(timespec="seconds"),
                    "expires_at": r.expires_at.isoformat(timespec="seconds"),
                    "client_addr": r.client_addr,
                    "user_agent": r.user_agent,
                }
                for r in rows
            ]
        }
    )


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document())


@bp.get("/folders")
def folders() -> ResponseReturnValue:
    """Every folder with its message and unread counts."""
    infos = _mailbox().folders()
    return jsonify(
        {"folders": [{"name": f.name, "total": f.total, "unread": f.unread} for f in infos]}
    )


@bp.get("/messages")
def list_messages() -> ResponseReturnValue:
    """One page of a folder, newest first."""
    per_page = _int_arg("per_page", get_resources().settings.api.page_size)
    page = _mailbox().page(_folder(), _int_arg("page", 1), per_page)
    return jsonify(
        {
            "folder": page.folder,
            "page": page.page,
            "per_page": page.per_page,
            "pages": page.pages,
            "total": page.total,
            "messages": [m.as_json() for m in page.messages],
        }
    )


@bp.get("/messages/<int:uid>")
def get_message(uid: int) -> ResponseReturnValue:
    """One message: headers, text, sanitised HTML and attachments."""
    mailbox, folder = _mailbox(), _folder()
    raw = mailbox.raw(folder, uid)
    view = view_message(raw, allow_remote_images=request.args.get("images") == "1")
    summary = mailbox.summary(folder, mailbox.get(folder, uid))
    return jsonify({**summary.as_json(), **view.as_json()})


@bp.get("/messages/<int:uid>/raw")
def raw_message(uid: int) -> ResponseReturnValue:
    """The message exactly as stored (message/rfc822)."""
    data = _mailbox().raw(_folder(), uid)
    return Response(data, mimetype="message/rfc822")


@bp.get("/messages/<int:uid>/attachments/<int:index>")
def attachment(uid: int, index: int) -> ResponseReturnValue:
    """Download one attachment."""
    filename, _content_type, data = attachment_bytes(_mailbox().raw(_folder(), uid), index)
    return download_response(filename, data)


def download_response(filename: str, data: bytes) -> Response:
    """An attachment as a download (never rendered inline, whatever its type)."""
    response = Response(data, mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/search")
def search_messages() -> ResponseReturnValue:
    """Messages matching from=, subject=, q=, since= (YYYY-MM-DD) and folder= (repeatable)."""
    since_arg = request.args.get("since")
    try:
        since = dt.date.fromisoformat(since_arg) if since_arg else None
    except ValueError:
        raise BadInput("since must be a date, YYYY-MM-DD") from None
    folders = tuple(folder_name(f) for f in request.args.getlist("folder"))
    query = Query(
        sender=request.args.get("from", "")[:200],
        subject=request.args.get("subject", "")[:200],
        text=request.args.get("q", "")[:200],
        since=since,
        folders=folders,
    )
    found = search(_mailbox(), query, limit=min(200, _int_arg("limit", 50)))
    return jsonify({"messages": [m.as_json() for m in found], "total": len(found)})


def draft_from_request(mailbox: UserMailbox) -> Draft:
    """A draft from a JSON body or a multipart form (with ``attachments`` files)."""
    if request.is_json:
        body: Any = _json_body()
        files = []
    else:
        body = request.form
        files = request.files.getlist("attachments")
    reply_uid = body.get("reply_to_uid")
    base = Draft(to=())
    if reply_uid not in (None, ""):
        try:
            reply_folder = folder_name(body.get("reply_to_folder"))
            original = view_message(mailbox.raw(reply_folder, int(reply_uid)))
        except (TypeError, ValueError):
            raise BadInput("reply_to_uid must be a number") from None
        base = reply_draft(original, mailbox.address)
    uploads = tuple(
        Upload(f.filename or "attachment", f.mimetype or "application/octet-stream", f.read())
        for f in files
        if f.filename
    )
    text = body.get("text", "")
    subject = body.get("subject", base.subject)
    if not isinstance(text, str) or not isinstance(subject, str):
        raise BadInput("subject and text must be strings")
    return Draft(
        to=parse_addresses(body.get("to")) or base.to,
        cc=parse_addresses(body.get("cc")),
        bcc=parse_addresses(body.get("bcc")),
        subject=subject,
        text=text,
        in_reply_to=base.in_reply_to,
        references=base.references,
        attachments=uploads,
    )


@bp.post("/messages")
def send() -> ResponseReturnValue:
    """Send a message through the submission path; a copy goes to Sent."""
    mailbox = _mailbox()
    draft = draft_from_request(mailbox)
    sent = send_draft(
        get_resources().outbox, get_db_session(), mailbox, draft, request.remote_addr or ""
    )
    return jsonify(
        {"queue_id": sent.queue_id, "message_id": sent.message_id, "recipients": sent.recipients}
    ), 202


@bp.post("/messages/<int:uid>/move")
def move(uid: int) -> ResponseReturnValue:
    """Move a message to another folder (``{"to": "Archive"}``)."""
    destination = _json_body().get("to")
    if not isinstance(destination, str):
        raise BadInput("give the destination folder as 'to'")
    new_uid = _mailbox().move(_folder(), uid, destination)
    return jsonify({"folder": folder_name(destination), "uid": new_uid})


@bp.delete("/messages/<int:uid>")
def delete(uid: int) -> ResponseReturnValue:
    """Move a message to Trash; a message already in Trash is removed for good."""
    outcome = _mailbox().delete(_folder(), uid)
    return jsonify({"result": outcome})


@bp.route("/messages/<int:uid>/flags", methods=["POST", "PATCH"])
def flags(uid: int) -> ResponseReturnValue:
    """Add and remove flags: ``{"add": ["seen"], "remove": ["flagged"]}``."""
    body = _json_body()
    add, remove = body.get("add", []), body.get("remove", [])
    if not isinstance(add, list) or not isinstance(remove, list):
        raise BadInput("add and remove must be lists of flag names")
    names = _mailbox().set_flags(_folder(), uid, flag_letters(add), flag_letters(remove))
    return jsonify({"uid": uid, "flags": names})
