"""The account settings page: active sessions, revoking one or all, changing the password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user

from mailrs.accounts.passwords import verify_password
from mailrs.accounts.sessions import end_all_sessions, end_session, list_sessions
from mailrs.accounts.users import MAX_PASSWORD, find_user, set_password
from web.offload import off_hub
from web.resources import get_db_session

bp = Blueprint("account", __name__)
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/settings")
@login_required
def settings() -> ResponseReturnValue:
    """The settings page with the list of the account's active sessions and tokens."""
    rows = list_sessions(get_db_session(), current_user.uid)
    page = render_template("settings.html", sessions=rows, current_sid=current_user.sid)
    return page, 200, NO_STORE


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
    user = find_user(db, current_user.address)
    if user is None or not off_hub(verify_password, user.password_hash, current):
        flash("The current password is wrong.", "error")
        return redirect(url_for("account.settings")), 303
    try:
        set_password(db, user.address, new)
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
