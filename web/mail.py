"""The mail blueprint: folders, message list with paging, message view, compose, actions.

Pages go through ``web.mailservice`` like the API. The list reads only the head of each
listed message file (its header block, at most 64 KiB), never a whole message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from mailrs.accounts.preferences import get_preferences, with_signature
from mailrs.errors import MailrsError
from web.api import download_response, json_error
from web.assistant import history
from web.contacts import refresh_contacts
from web.mail_format import date_label, file_size, mail_date, relative_date
from web.mailservice.compose import Draft, Upload, forward_draft, parse_addresses, reply_draft
from web.mailservice.conversations import conversation_page, thread_of
from web.mailservice.drafts import (
    discard_draft,
    draft_uid,
    load_draft,
    loose_addresses,
    save_draft,
)
from web.mailservice.errors import BadInput, NotFound, ServiceError, from_core
from web.mailservice.mailbox import TRASH, UserMailbox, folder_name
from web.mailservice.reading import attachment_bytes, leaf_parts, parse, view_message
from web.mailservice.search import Query, search
from web.mailservice.search_threads import group_results
from web.mailservice.sending import send_draft
from web.resources import get_db_session, get_resources, open_mailbox

bp = Blueprint("mail", __name__)

INBOX_PAGE_SIZE = 20
NO_STORE = {"Cache-Control": "private, no-store"}
REMOTE_IMAGES_CSP = (
    "default-src 'self'; img-src 'self' data: http: https:; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError) -> ResponseReturnValue:
    title = "Not found" if isinstance(error, NotFound) else "Cannot do that"
    return render_template("error.html", title=title, message=str(error)), error.status


@bp.errorhandler(MailrsError)
def _core_error(error: MailrsError) -> ResponseReturnValue:
    return _service_error(from_core(error))


def _mailbox() -> UserMailbox:
    return open_mailbox(current_user.address)


def _folder() -> str:
    return folder_name(request.values.get("folder"))


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


for _name, _filter in (
    ("datelabel", date_label),
    ("reldate", relative_date),
    ("maildate", mail_date),
    ("filesize", file_size),
):
    bp.add_app_template_filter(_filter, _name)


VIEWS = ("conversations", "list")


def _list_view() -> str:
    """``conversations`` or ``list``: from ``?view=``, remembered in the session."""
    view = request.args.get("view")
    if view in ("conversations", "list"):
        session["mail_view"] = view
    return "list" if session.get("mail_view") == "list" else "conversations"


def _chat_turns() -> list[tuple[str, str]]:
    """The user's recent assistant conversation, so the inbox's panel shows its history."""
    resources = get_resources()
    limit = resources.settings.assistant.history_limit
    return history.recent(resources.database, current_user.id, limit)


@bp.get("/")
@login_required
def inbox() -> ResponseReturnValue:
    """A folder's newest conversations or messages (INBOX unless ``?folder=``), the chat."""
    mailbox = _mailbox()
    folder = _folder()
    view = _list_view()
    folders = mailbox.folders()
    if view == "conversations":
        threads = conversation_page(mailbox, folder, _page_number(), INBOX_PAGE_SIZE)
        body = render_template(
            "inbox.html",
            threads=threads,
            page=threads,
            folders=folders,
            folder=folder,
            view=view,
            turns=_chat_turns(),
        )
    else:
        page = mailbox.page(folder, _page_number(), INBOX_PAGE_SIZE)
        body = render_template(
            "inbox.html",
            page=page,
            folders=folders,
            folder=folder,
            view=view,
            threads=None,
            turns=_chat_turns(),
        )
    return body, 200, NO_STORE


@bp.get("/conversation/<int:uid>")
@login_required
def conversation(uid: int) -> ResponseReturnValue:
    """Every message of a conversation, oldest first; the older read ones collapsed."""
    mailbox = _mailbox()
    folder = _folder()
    items = []
    for where, number in thread_of(mailbox, folder, uid):
        message = mailbox.get(where, number)
        unread = "S" not in message.flags
        view = view_message(mailbox.raw(where, number))
        items.append({"folder": where, "uid": number, "view": view, "unread": unread})
        if unread:
            mailbox.set_flags(where, number, add="S")
    for item in items[:-1]:
        item["open"] = item["unread"]
    items[-1]["open"] = True
    body = render_template(
        "conversation.html", items=items, folder=folder, uid=uid, folders=mailbox.folders()
    )
    return body, 200, NO_STORE


def _date_arg(name: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` query argument; BadInput (400) for anything else."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadInput(f"{name} must be a date like 2025-03-14") from exc


def _search_query() -> Query:
    """The search form's fields as a Query (each text at most 200 characters)."""
    folder = request.args.get("folder", "").strip()
    return Query(
        sender=request.args.get("from", "").strip()[:200],
        recipient=request.args.get("to", "").strip()[:200],
        subject=request.args.get("subject", "").strip()[:200],
        text=request.args.get("q", "").strip()[:200],
        since=_date_arg("since"),
        before=_date_arg("before"),
        unread=request.args.get("unread") == "1",
        has_attachment=request.args.get("attachment") == "1",
        folders=(folder_name(folder),) if folder else (),
    )


def _search_url(args: dict[str, str]) -> str:
    """The search page with these query arguments."""
    return url_for("mail.search_page") + "?" + urlencode(args)


@bp.get("/search")
@login_required
def search_page() -> ResponseReturnValue:
    """Search results for ``q`` (words), ``from``, ``to``, ``subject``, dates and filters."""
    mailbox = _mailbox()
    query = _search_query()
    results = [] if query.empty else search(mailbox, query)
    view = _list_view()
    threads = group_results(mailbox, results) if view == "conversations" else None
    body = render_template(
        "search.html",
        results=results,
        threads=threads,
        view=view,
        toggle={v: _search_url({**request.args, "view": v}) for v in VIEWS},
        query=query,
        folders=mailbox.folders(),
        folder="",
    )
    return body, 200, NO_STORE


@bp.get("/message/<int:uid>")
@login_required
def message(uid: int) -> ResponseReturnValue:
    """One message, marked as read; remote images only with ``?images=1``."""
    mailbox = _mailbox()
    folder = _folder()
    images = request.args.get("images") == "1"
    view = view_message(mailbox.raw(folder, uid), allow_remote_images=images)
    flags = mailbox.set_flags(folder, uid, add="S")
    body = render_template(
        "message.html",
        view=view,
        uid=uid,
        folder=folder,
        flags=flags,
        images=images,
        folders=mailbox.folders(),
    )
    headers = dict(NO_STORE)
    if images:
        headers["Content-Security-Policy"] = REMOTE_IMAGES_CSP
    return body, 200, headers


@bp.get("/message/<int:uid>/attachment/<int:index>")
@login_required
def attachment(uid: int, index: int) -> Response:
    """Download one attachment."""
    filename, _type, data = attachment_bytes(_mailbox().raw(_folder(), uid), index)
    return download_response(filename, data)


@bp.post("/message/<int:uid>/flags")
@login_required
def flags(uid: int) -> ResponseReturnValue:
    """Mark read or unread (form field ``seen`` = 1 or 0)."""
    folder = _folder()
    if request.form.get("seen") == "1":
        _mailbox().set_flags(folder, uid, add="S")
        flash("Marked as read.", "info")
        return redirect(url_for("mail.message", uid=uid, folder=folder))
    _mailbox().set_flags(folder, uid, remove="S")
    flash("Marked as unread.", "info")
    return redirect(url_for("mail.inbox", folder=folder))


@bp.post("/message/<int:uid>/move")
@login_required
def move(uid: int) -> ResponseReturnValue:
    """Move to the folder in the form field ``to``."""
    folder = _folder()
    destination = folder_name(request.form.get("to"))
    _mailbox().move(folder, uid, destination)
    flash(f"Moved to {destination}.", "info")
    return redirect(url_for("mail.inbox", folder=folder))


@bp.post("/message/<int:uid>/delete")
@login_required
def delete(uid: int) -> ResponseReturnValue:
    """Move to Trash (from Trash: delete for good)."""
    folder = _folder()
    outcome = _mailbox().delete(folder, uid)
    flash("Moved to Trash." if outcome == "trash" else "Deleted for good.", "info")
    return redirect(url_for("mail.inbox", folder=folder))


def _prefill(mailbox: UserMailbox) -> tuple[Draft, dict[str, str]]:
    """The draft a compose page starts from: empty, a reply, or a forward."""
    folder = _folder()
    hidden: dict[str, str] = {}
    for kind in ("reply", "reply_all", "forward"):
        value = request.values.get(kind)
        if not value:
            continue
        try:
            uid = int(value)
        except ValueError:
            raise BadInput(f"{kind} must be a message number") from None
        view = view_message(mailbox.raw(folder, uid))
        hidden = {kind: str(uid), "folder": folder}
        if kind == "forward":
            return forward_draft(view), hidden
        return reply_draft(view, mailbox.address, reply_all=kind == "reply_all"), hidden
    resumed = draft_uid(request.args.get("draft"))
    if resumed is not None:
        return load_draft(mailbox, resumed), {"draft": str(resumed)}
    return Draft(to=loose_addresses(request.args.get("to", "")[:2000])), hidden


def _typed_draft(base: Draft, attachments: tuple[Upload, ...] = ()) -> Draft:
    """The compose form as typed (addresses unchecked), for a draft or an error page."""
    form = request.form
    return Draft(
        to=loose_addresses(form.get("to", "")),
        cc=loose_addresses(form.get("cc", "")),
        bcc=loose_addresses(form.get("bcc", "")),
        subject=form.get("subject", "")[:998],
        text=form.get("text", ""),
        in_reply_to=base.in_reply_to,
        references=base.references,
        attachments=attachments,
    )


@bp.post("/compose/draft")
@login_required
def save_compose_draft() -> ResponseReturnValue:
    """Save the compose form to Drafts (the autosave); JSON with the draft's new UID."""
    mailbox = _mailbox()
    base, _hidden = _prefill(mailbox)
    replaces = draft_uid(request.form.get("draft"))
    uid = save_draft(mailbox, _typed_draft(base), replaces)
    return {"uid": uid, "saved": dt.datetime.now(dt.UTC).strftime("%H:%M:%S")}, 200, NO_STORE


def _forwarded_attachments(mailbox: UserMailbox, hidden: dict[str, str]) -> tuple[Upload, ...]:
    if "forward" not in hidden:
        return ()
    raw = mailbox.raw(hidden["folder"], int(hidden["forward"]))
    uploads = []
    for index, _part in enumerate(leaf_parts(parse(raw))):
        try:
            name, kind, data = attachment_bytes(raw, index)
        except NotFound:
            continue
        uploads.append(Upload(name, kind, data))
    return tuple(uploads)


@bp.route("/compose", methods=["GET", "POST"])
@login_required
def compose() -> ResponseReturnValue:
    """Write a new message, a reply or a forward, with attachments; send it on POST."""
    mailbox = _mailbox()
    base, hidden = _prefill(mailbox)
    if request.method == "GET":
        refresh_contacts()  # completion offers the people of the newest mail too
        if "draft" not in hidden:  # a resumed draft has its signature already
            signature = get_preferences(get_db_session(), current_user.uid).signature
            base = dataclasses.replace(base, text=with_signature(base.text, signature))
        return render_template("compose.html", draft=base, hidden=hidden, error=None), 200, NO_STORE
    form = request.form
    replaces = draft_uid(form.get("draft"))
    uploads = tuple(
        Upload(f.filename or "attachment", f.mimetype or "application/octet-stream", f.read())
        for f in request.files.getlist("attachments")
        if f.filename
    )
    if form.get("action") == "draft":
        uid = save_draft(mailbox, _typed_draft(base, uploads), replaces)
        flash("Draft saved in Drafts.", "info")
        return redirect(url_for("mail.compose", draft=uid))
    try:
        draft = Draft(
            to=parse_addresses(form.get("to", "")),
            cc=parse_addresses(form.get("cc", "")),
            bcc=parse_addresses(form.get("bcc", "")),
            subject=form.get("subject", ""),
            text=form.get("text", ""),
            in_reply_to=base.in_reply_to,
            references=base.references,
            attachments=_forwarded_attachments(mailbox, hidden) + uploads,
        )
        send_draft(
            get_resources().outbox, get_db_session(), mailbox, draft, request.remote_addr or ""
        )
    except ServiceError as exc:
        if replaces is not None:
            hidden = {**hidden, "draft": str(replaces)}
        page = render_template(
            "compose.html", draft=_typed_draft(base), hidden=hidden, error=str(exc)
        )
        return page, exc.status
    if replaces is not None:
        with contextlib.suppress(NotFound):
            discard_draft(mailbox, replaces)
    if "reply" in hidden or "reply_all" in hidden:
        uid = int(hidden.get("reply") or hidden["reply_all"])
        with contextlib.suppress(NotFound):  # moved meanwhile: the reply went out all the same
            mailbox.set_flags(hidden["folder"], uid, add="R")
    flash("Message sent.", "info")
    return redirect(url_for("mail.inbox", folder="Sent"))


@bp.app_context_processor
def _upload_limit() -> dict[str, object]:
    return {"max_upload_bytes": current_app.config.get("MAX_CONTENT_LENGTH") or 0}


@bp.app_errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """413: on compose, the page again with the autosaved draft; elsewhere the error page."""
    if request.path.startswith("/api/"):
        return json_error(413, error.description or error.name)
    limit = file_size(int(current_app.config.get("MAX_CONTENT_LENGTH") or 0))
    message = f"That is more than the {limit} a message may carry. Remove an attachment."
    if request.path == url_for("mail.compose") and current_user.is_authenticated:
        with contextlib.suppress(ServiceError, MailrsError):
            mailbox = _mailbox()
            uid = draft_uid(request.args.get("draft"))
            draft = load_draft(mailbox, uid) if uid is not None else Draft(to=())
            hidden = {"draft": str(uid)} if uid is not None else {}
            page = render_template("compose.html", draft=draft, hidden=hidden, error=message)
            return page, 413
    return render_template("error.html", title="Too large", message=message), 413


@bp.app_errorhandler(404)
def _not_found(error: HTTPException) -> ResponseReturnValue:
    """The app's own 404 page (JSON under /api/)."""
    if request.path.startswith("/api/"):
        return json_error(404, error.description or "not found")
    message = "There is nothing at this address. It may have moved or been deleted."
    return render_template("error.html", title="Not found", message=message), 404


@bp.app_errorhandler(500)
def _server_error(error: HTTPException) -> ResponseReturnValue:
    """The app's own 500 page (JSON under /api/); the details stay in the log."""
    if request.path.startswith("/api/"):
        return json_error(500, "internal error")
    message = "Something went wrong on our side. Your mail is safe; please try again."
    return render_template("error.html", title="Something went wrong", message=message), 500


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for /favicon.ico: the SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


def trash_name() -> str:
    """The Trash folder's name (templates use it)."""
    return TRASH


bp.add_app_template_global(trash_name)
