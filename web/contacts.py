"""The contacts page: saved and collected addresses, add/edit/delete, vCard import and
export, and the completion the compose fields ask for (``/contacts/complete?q=``)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from mailrs.accounts.contacts import (
    complete,
    delete_contact,
    get_contact,
    list_contacts,
    save_contact,
)
from mailrs.errors import MailrsError
from web.mailservice.contact_harvest import collect_contacts
from web.mailservice.vcards import read_vcards, write_vcards
from web.resources import get_db_session, open_mailbox

bp = Blueprint("contacts", __name__)
NO_STORE = {"Cache-Control": "private, no-store"}
log = logging.getLogger(__name__)


def refresh_contacts() -> None:
    """Collect the people of mail not read yet (a failure only leaves the list as it was)."""
    try:
        collect_contacts(get_db_session(), current_user.uid, open_mailbox(current_user.address))
    except (MailrsError, OSError) as exc:
        get_db_session().rollback()
        log.warning("collecting contacts of %s failed: %s", current_user.address, exc)


@bp.get("/contacts")
@login_required
def page() -> ResponseReturnValue:
    """The contacts, those matching ``?q=`` when given, with the add and import forms."""
    refresh_contacts()
    query = request.args.get("q", "").strip()[:200]
    rows = list_contacts(get_db_session(), current_user.uid, query)
    edit = request.args.get("edit", type=int)
    editing = get_contact(get_db_session(), current_user.uid, edit) if edit else None
    body = render_template("contacts.html", contacts=rows, query=query, editing=editing)
    return body, 200, NO_STORE


def _form_contact(contact_id: int | None = None) -> ResponseReturnValue:
    form = request.form
    try:
        saved = save_contact(
            get_db_session(),
            current_user.uid,
            form.get("email", ""),
            form.get("name", ""),
            form.get("phone", ""),
            form.get("note", ""),
            contact_id=contact_id,
        )
    except LookupError:
        return render_template("error.html", title="Not found", message="No such contact."), 404
    except ValueError as exc:
        flash(str(exc), "error")
        back = url_for("contacts.page", edit=contact_id) if contact_id else url_for("contacts.page")
        return redirect(back), 303
    flash(f"Contact {saved.label} saved.", "info")
    return redirect(url_for("contacts.page"))


@bp.post("/contacts")
@login_required
def add() -> ResponseReturnValue:
    """Add a contact (or complete the one with that address)."""
    return _form_contact()


@bp.post("/contacts/<int:contact_id>")
@login_required
def edit(contact_id: int) -> ResponseReturnValue:
    """Change a contact's address, name, phone or note."""
    return _form_contact(contact_id)


@bp.post("/contacts/<int:contact_id>/delete")
@login_required
def delete(contact_id: int) -> ResponseReturnValue:
    """Remove a contact."""
    if not delete_contact(get_db_session(), current_user.uid, contact_id):
        return render_template("error.html", title="Not found", message="No such contact."), 404
    flash("Contact deleted.", "info")
    return redirect(url_for("contacts.page"))


@bp.post("/contacts/import")
@login_required
def import_vcards() -> ResponseReturnValue:
    """Add every address of an uploaded vCard file (.vcf) as a saved contact."""
    upload = request.files.get("vcards")
    if upload is None or not upload.filename:
        flash("Choose a vCard file (.vcf) to import.", "error")
        return redirect(url_for("contacts.page")), 303
    try:
        cards, skipped = read_vcards(upload.read())
    except ValueError as exc:
        flash(f"Nothing imported: {exc}.", "error")
        return redirect(url_for("contacts.page")), 303
    db = get_db_session()
    imported, refused = 0, 0
    for card in cards:
        try:
            save_contact(db, current_user.uid, card.email, card.name, card.phone, card.note)
            imported += 1
        except ValueError:
            db.rollback()
            refused += 1
    message = f"{imported} contact{'s' if imported != 1 else ''} imported."
    if skipped or refused:
        message += f" {skipped + refused} skipped (no valid address)."
    flash(message, "info")
    return redirect(url_for("contacts.page"))


@bp.get("/contacts/export.vcf")
@login_required
def export_vcards() -> Response:
    """Every contact as one vCard file."""
    text = write_vcards(list_contacts(get_db_session(), current_user.uid))
    return Response(
        text,
        mimetype="text/vcard",
        headers={"Content-Disposition": 'attachment; filename="contacts.vcf"', **NO_STORE},
    )


@bp.get("/contacts/complete")
@login_required
def completion() -> ResponseReturnValue:
    """Up to 8 contacts whose address or name starts with ``?q=`` (JSON)."""
    prefix = request.args.get("q", "")[:100]
    found = complete(get_db_session(), current_user.uid, prefix)
    items = [{"label": c.label, "email": c.email, "name": c.name} for c in found]
    return {"contacts": items}, 200, NO_STORE
