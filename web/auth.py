"""The auth blueprint: the login form, logout, and the flask-login user loader.

The session cookie carries the account's random ``uid`` (flask-login's id) and the id of
an ``auth_sessions`` row (``sid``); the loader accepts the cookie only while that row
lives, so logout, a password change or disabling the account end it server-side.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from mailrs.accounts.sessions import end_session, open_session, session_user
from mailrs.accounts.users import MAX_PASSWORD
from mailrs.db.models import User
from mailrs.errors import AuthFailed
from web.login_guard import LOGIN_FAILED, LoginThrottled, check_login
from web.resources import get_db_session, get_resources

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class AccountUser(UserMixin):
    """The logged-in account as flask-login sees it (plain data, no ORM object)."""

    id: int  # the row id, for rows that belong to the account (chat history)
    address: str
    uid: str  # the never-reused identity that cookies and tokens name
    sid: str  # the auth_sessions row this request was authenticated by
    is_admin: bool = False  # read from the account row on every request

    def get_id(self) -> str:
        """The id stored in the session cookie."""
        return self.uid

    @classmethod
    def of(cls, user: User, sid: str) -> AccountUser:
        """The plain-data view of an account row, authenticated by session ``sid``."""
        return cls(id=user.id, address=user.address, uid=user.uid, sid=sid, is_admin=user.is_admin)


class LoginForm(FlaskForm):
    """Email address and password, with the CSRF token."""

    email = EmailField("Email address", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=MAX_PASSWORD)])


def init_app(app: Flask) -> None:
    """Attach flask-login to the app; anonymous visitors are sent to the login page."""
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.login_message = "Please log in to read your mail."
    manager.login_message_category = "info"
    manager.user_loader(load_user)


def load_user(user_uid: str) -> AccountUser | None:
    """The account of a live session cookie, or None (flask-login's loader).

    None when the session was revoked or expired, or the account is gone or disabled.
    """
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    user = session_user(get_db_session(), sid, user_uid)
    if user is None:
        return None
    return AccountUser.of(user, sid)


def safe_next_url(target: str | None) -> str:
    """The ``next`` target if it is a path on this site, else the inbox (no open redirect)."""
    fallback = url_for("mail.inbox")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; on POST check the password and start a session."""
    if current_user.is_authenticated:
        return redirect(url_for("mail.inbox"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("login.html", form=form), status
    try:
        user = check_login(
            get_db_session(),
            get_resources().throttle,
            form.email.data or "",
            form.password.data or "",
            request.remote_addr or "",
        )
    except LoginThrottled as exc:
        page = render_template("login.html", form=form, error=str(exc))
        return page, 429, {"Retry-After": str(exc.retry_after)}
    except AuthFailed:
        return render_template("login.html", form=form, error=LOGIN_FAILED), 401
    db = get_db_session()
    account = db.get(User, user.id)
    if account is None:
        return render_template("login.html", form=form, error=LOGIN_FAILED), 401
    sid = open_session(
        db,
        account,
        "web",
        current_app.permanent_session_lifetime,
        client_addr=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
    )
    session.clear()
    session["sid"] = sid
    login_user(AccountUser.of(account, sid))
    return redirect(safe_next_url(request.args.get("next")))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End the session server-side (a copied cookie stops working) and go to the login page."""
    end_session(get_db_session(), current_user.sid, current_user.uid)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
