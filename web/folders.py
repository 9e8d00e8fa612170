"""The folders page: every folder with its counts, and forms to create, rename and delete
folders (``web.mailservice.folders``, through the mailbox service)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from mailrs.errors import MailrsError
from web.mailservice import folders
from web.mailservice.errors import NotFound, ServiceError, from_core
from web.resources import open_mailbox

bp = Blueprint("folders", __name__)


@bp.errorhandler(ServiceError)
def _service_error(error: ServiceError) -> ResponseReturnValue:
    title = "Not found" if isinstance(error, NotFound) else "Cannot do that"
    return render_template("error.html", title=title, message=str(error)), error.status


@bp.errorhandler(MailrsError)
def _core_error(error: MailrsError) -> ResponseReturnValue:
    return _service_error(from_core(error))


@bp.get("/folders")
@login_required
def page() -> ResponseReturnValue:
    """Every folder with its counts and the forms to change them."""
    mailbox = open_mailbox(current_user.address)
    body = render_template("folders.html", folders=mailbox.folders(), folder="")
    return body, 200, {"Cache-Control": "private, no-store"}


@bp.post("/folders")
@login_required
def create() -> ResponseReturnValue:
    """Create the folder ``name``."""
    name = folders.create_folder(open_mailbox(current_user.address), request.form.get("name", ""))
    flash(f"Folder {name} created.", "info")
    return redirect(url_for("folders.page"))


@bp.post("/folders/rename")
@login_required
def rename() -> ResponseReturnValue:
    """Rename the folder ``folder`` to ``name``."""
    mailbox = open_mailbox(current_user.address)
    old = request.form.get("folder", "")
    new = folders.rename_folder(mailbox, old, request.form.get("name", ""))
    flash(f"Folder {old} renamed to {new}.", "info")
    return redirect(url_for("folders.page"))


@bp.post("/folders/delete")
@login_required
def delete() -> ResponseReturnValue:
    """Delete the folder ``folder`` and its messages."""
    name = folders.delete_folder(open_mailbox(current_user.address), request.form.get("folder", ""))
    flash(f"Folder {name} deleted.", "info")
    return redirect(url_for("folders.page"))
