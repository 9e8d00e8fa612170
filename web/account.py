"""The account settings page: name and signature, usage and quota, active sessions, ending
them, the password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user

from mailrs.accounts.preferences import get_preferences, set_preferences
from mailrs.accounts.quota import format_size, quota_of
from mailrs.accounts.sessions import end_all_sessions, end_session, list_sessions
from mailrs.accounts.users import MAX_PASSWORD, set_password
from mailrs.errors import AuthFailed
from mailrs.store.usage import mailbox_usage
from web.login_guard import LoginThrottled, check_login
from web.resources import get_db_session, get_resources

bp = Blueprint("account", __name__)
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/settings")
@login_required
def settings() -> ResponseReturnValue:
    """The settings page with the list of the account's active sessions and tokens."""
    db = get_db_session()
    rows = list_sessions(db, current_user.uid)
    limit = quota_of(db, current_user.address)
    used = mailbox_usage(get_resources().store, current_user.address)
    page = render_template(
        "settings.html",
        preferences=get_preferences(db, current_user.uid),
        sessions=rows,
        current_sid=current_user.sid,
        usage=format_size(used),
        quota=format_size(limit),
        percent=None if not limit else min(100, round(100 * used / limit)),
    )
    return page, 200, NO_STORE


@bp.post("/settings/identity")
@login_required
def identity() -> ResponseReturnValue:
    """Save the display name (From of mail sent) and the signature (added in compose)."""
    form = request.form
    try:
        set_preferences(
            get_db_session(),
            current_user.uid,
            form.get("display_name", ""),
            form.get("signature", ""),
        )
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("account.settings")), 303
    flash("Name and signature saved.", "info")
    return redirect(url_for("account.settings"))


@bp.post("/settings/sessions/<sid>/revoke")
@login_required
def revoke_one(sid: str) -> ResponseReturnValue:
    """End one of the account's sessions (ending the current one logs out)."""
    end_session(get_db_session(), sid[:64], current_user.uid)
    if sid == current_user.sid:
        return _logged_out()
    flash("Session ended.", "info")
    return redirect(url_for("account.settings"))


@bp.post("/settings/logout-everywhere")
@login_required
def logout_everywhere() -> ResponseReturnValue:
    """End every session and API token of the account, this one included."""
    end_all_sessions(get_db_session(), current_user.uid)
    return _logged_out("Logged out everywhere.")


@bp.post("/settings/password")
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password (current one required); every session and token ends."""
    current = request.form.get("current_password", "")[:MAX_PASSWORD]
    new = request.form.get("new_password", "")
    db = get_db_session()
    try:  # the same throttled check as a login: a stolen session cannot guess it
        check_login(
            db, get_resources().throttle, current_user.address, current, request.remote_addr or ""
        )
    except (AuthFailed, LoginThrottled) as exc:
        message = str(exc) if isinstance(exc, LoginThrottled) else "The current password is wrong."
        flash(message, "error")
        return redirect(url_for("account.settings")), 303
    try:
        set_password(db, current_user.address, new)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("account.settings")), 303
    return _logged_out("Password changed. Log in again with the new password.")


def _logged_out(message: str = "") -> ResponseReturnValue:
    logout_user()
    session.clear()
    if message:
        flash(message, "info")
    return redirect(url_for("auth.login"))
