"""The auth blueprint: the login form, logout, and the flask-login user loader."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
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

from mailrs.accounts.users import MAX_PASSWORD
from mailrs.db.models import User
from mailrs.errors import AuthFailed
from web.login_guard import LOGIN_FAILED, LoginThrottled, check_login
from web.resources import get_db_session, get_resources

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class AccountUser(UserMixin):
    """The logged-in account as flask-login sees it (plain data, no ORM object)."""

    id: int
    address: str

    def get_id(self) -> str:
        """The id stored in the session cookie."""
        return str(self.id)


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


def load_user(user_id: str) -> AccountUser | None:
    """The account with that id, or None if it is gone or disabled (flask-login's loader)."""
    try:
        key = int(user_id)
    except ValueError:
        return None
    user = get_db_session().get(User, key)
    if user is None or user.disabled:
        return None
    return AccountUser(id=user.id, address=user.address)


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
    session.clear()
    login_user(AccountUser(id=user.id, address=user.address))
    return redirect(safe_next_url(request.args.get("next")))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End the session and go back to the login page."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
