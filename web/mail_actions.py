"""The mail blueprint's actions on several messages: bulk read/unread/flag/move/archive/
delete from the lists, and the undo of a move or delete (a short-lived token kept in
the session, reversed through the mailbox service)."""

from __future__ import annotations

import secrets
import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from mailrs.errors import MailrsError
from web.mailservice.bulk import Undo, apply, parse_uids, undo
from web.mailservice.errors import NotFound, ServiceError, from_core
from web.mailservice.mailbox import folder_name
from web.resources import open_mailbox

bp = Blueprint("mail_actions", __name__)

UNDO_SECONDS = 120


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError) -> ResponseReturnValue:
    title = "Not found" if isinstance(error, NotFound) else "Cannot do that"
    return render_template("error.html", title=title, message=str(error)), error.status


@bp.errorhandler(MailrsError)
def _core_error(error: MailrsError) -> ResponseReturnValue:
    return _service_error(from_core(error))


def _back(folder: str) -> ResponseReturnValue:
    """To the list the action came from."""
    return redirect(url_for("mail.inbox", folder=folder, page=request.form.get("page") or None))


@bp.post("/bulk")
@login_required
def bulk() -> ResponseReturnValue:
    """Apply ``action`` to the checked ``uid`` values of ``folder``; moves can be undone."""
    folder = folder_name(request.form.get("folder"))
    uids = parse_uids(request.form.getlist("uid"))
    action = request.form.get("action", "")
    outcome = apply(
        open_mailbox(current_user.address), folder, uids, action, request.form.get("to", "")
    )
    if outcome.undo is not None:
        token = secrets.token_urlsafe(12)
        session["undo"] = {
            "token": token,
            "expires": time.time() + UNDO_SECONDS,
            **outcome.undo.as_dict(),
        }
        flash(outcome.message, "undo:" + token)
    else:
        flash(outcome.message, "info")
    return _back(folder)


@bp.post("/undo")
@login_required
def undo_move() -> ResponseReturnValue:
    """Reverse the last move or delete, if ``token`` is its token and it is recent."""
    record = session.get("undo") or {}
    token = request.form.get("token", "")
    fresh = float(record.get("expires", 0)) >= time.time()
    if not token or not secrets.compare_digest(str(record.get("token", "")), token) or not fresh:
        flash("That can no longer be undone.", "error")
        return redirect(url_for("mail.inbox"))
    session.pop("undo", None)
    back = Undo.from_dict(record)
    flash(undo(open_mailbox(current_user.address), back), "info")
    return redirect(url_for("mail.inbox", folder=back.source))
