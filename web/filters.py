"""Settings: simple filter rules and a vacation reply, stored as the account's Sieve script."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from mailrs.sieve import storage
from mailrs.sieve.rules import (
    MAX_RULES,
    WEB_SCRIPT,
    Filters,
    Rule,
    VacationForm,
    from_sieve,
    to_sieve,
)
from web.resources import get_db_session

bp = Blueprint("filters", __name__)
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/settings/filters")
@login_required
def page() -> ResponseReturnValue:
    """The rule editor and vacation form, filled from the account's web script."""
    db = get_db_session()
    names = storage.list_scripts(db, current_user.address)
    mine = dict(names).get(WEB_SCRIPT)
    text = storage.get_script(db, current_user.address, WEB_SCRIPT) if mine is not None else None
    other_active = next((n for n, active in names if active and n != WEB_SCRIPT), None)
    filters = from_sieve(text)
    html = render_template(
        "filters.html", filters=filters, other_active=other_active, blank=3, max_rules=MAX_RULES
    )
    return html, 200, NO_STORE


@bp.post("/settings/filters")
@login_required
def save() -> ResponseReturnValue:
    """Write the form as Sieve and make it the active script (a bad form: a message)."""
    form = request.form
    rules = []
    for field, text, action, folder in zip(
        form.getlist("field"),
        form.getlist("text"),
        form.getlist("action"),
        form.getlist("folder"),
        strict=False,
    ):
        if text.strip():
            rules.append(Rule(field, text.strip(), action, folder.strip()))
    try:
        days = int(form.get("days", "7") or "7")
        vacation = VacationForm(
            enabled=form.get("vacation") == "on",
            subject=form.get("subject", "")[:200],
            text=form.get("vacation_text", "")[:10000],
            days=days,
        )
        script = to_sieve(Filters(rules, vacation))
        db = get_db_session()
        storage.put_script(db, current_user.address, WEB_SCRIPT, script)
        storage.set_active(db, current_user.address, WEB_SCRIPT)
        db.commit()
    except (ValueError, storage.ScriptError) as exc:
        get_db_session().rollback()
        flash(f"Not saved: {exc}", "error")
        return redirect(url_for("filters.page")), 303
    flash("Filters saved.", "info")
    return redirect(url_for("filters.page")), 303
