"""Who may use the admin area: an authenticated account whose row says ``is_admin``.

The flag is read from the database on every request (``web.auth.load_user`` and
``web.api_auth.api_caller``), so withdrawing it takes effect at once.
"""

from __future__ import annotations

from flask_login import current_user
from werkzeug.exceptions import Forbidden, Unauthorized

from web.api_auth import api_caller
from web.auth import AccountUser


def page_admin() -> None:
    """For an admin page: 401 is left to ``login_required``; a non-admin gets 403."""
    if not current_user.is_authenticated:
        raise Unauthorized("log in first")
    if not current_user.is_admin:
        raise Forbidden("this page is for administrators")


def api_admin() -> AccountUser:
    """For ``/api/admin``: the admin caller (token or session with CSRF); else 401/403."""
    caller = api_caller()
    if not caller.is_admin:
        raise Forbidden("administrators only")
    return caller
